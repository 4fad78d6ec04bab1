with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'doelgroepvermindering') }}

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
        filename as source_file,
        source_line_number,
        {{ cast_problems({'totaal_bedrag_vermindering': 'decimal(12, 2)', 'aantal_kwartalen_gebruik': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
