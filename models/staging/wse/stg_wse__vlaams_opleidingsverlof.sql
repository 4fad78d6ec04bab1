with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'vlaams_opleidingsverlof') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(registratietype_opleidingsverstrekker) as provider_registration_type,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_goedkeuring_dossier)) as approval_quarter,
        -- numerics
        {{ try_cast_value('aantal_aangevraagde_uren', 'integer') }} as hours_requested,
        {{ try_cast_value('aantal_goedgekeurde_dossiers', 'integer') }} as approved_dossiers,
        -- lineage and cast problems
        filename as source_file,
        source_line_number,
        {{ cast_problems({'aantal_aangevraagde_uren': 'integer', 'aantal_goedgekeurde_dossiers': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
