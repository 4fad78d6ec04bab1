with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'arbeidsmatige_activiteiten') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(type_arbeidszorg) as care_type,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_ondersteuning)) as first_support_quarter,
        upper(trim(kwartaal_laatste_ondersteuning)) as last_support_quarter,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({}) }} as cast_problem
    from source

)

select * from renamed
