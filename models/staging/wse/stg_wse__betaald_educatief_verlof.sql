with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'betaald_educatief_verlof') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_aanmaak_dossier)) as dossier_created_quarter,
        upper(trim(kwartaal_afsluiting_dossier)) as dossier_closed_quarter,
        -- numerics
        {{ try_cast_value('aantal_goedgekeurde_dossiers', 'integer') }} as approved_dossiers,
        -- lineage and cast problems
        filename as source_file,
        source_line_number,
        {{ cast_problems({'aantal_goedgekeurde_dossiers': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
