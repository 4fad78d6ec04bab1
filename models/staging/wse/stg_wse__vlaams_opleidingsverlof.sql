with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'vlaams_opleidingsverlof') }}

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
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'aantal_aangevraagde_uren': 'integer', 'aantal_goedgekeurde_dossiers': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
