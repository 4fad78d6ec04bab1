with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'betaald_educatief_verlof') }}

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
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'aantal_goedgekeurde_dossiers': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
