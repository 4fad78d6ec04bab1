with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'maatwerk') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(categorie_begunstigde) as beneficiary_category,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_ondersteuning)) as first_support_quarter,
        upper(trim(kwartaal_laatste_ondersteuning)) as last_support_quarter,
        -- numerics
        {{ try_cast_value('bedrag_loon_begeleidingspremie', 'decimal(12, 2)') }} as wage_guidance_premium_eur,
        {{ try_cast_value('totale_subsidie', 'decimal(12, 2)') }} as total_subsidy_eur,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'bedrag_loon_begeleidingspremie': 'decimal(12, 2)', 'totale_subsidie': 'decimal(12, 2)'}) }} as cast_problem
    from source

)

select * from renamed
