with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'doelgroepvermindering') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(verminderingscode) as reduction_code,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_toekenning)) as first_grant_quarter,
        upper(trim(kwartaal_laatste_toekenning)) as last_grant_quarter,
        -- numerics
        {{ try_cast_value('totaal_bedrag_vermindering', 'decimal(12, 2)') }} as total_reduction_eur,
        {{ try_cast_value('aantal_kwartalen_gebruik', 'integer') }} as quarters_used,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'totaal_bedrag_vermindering': 'decimal(12, 2)', 'aantal_kwartalen_gebruik': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
