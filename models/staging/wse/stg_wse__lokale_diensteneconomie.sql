with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'lokale_diensteneconomie') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_ondersteuning)) as first_support_quarter,
        upper(trim(kwartaal_laatste_ondersteuning)) as last_support_quarter,
        -- numerics
        {{ try_cast_value('subsidie_laatste_volledig_kwartaal', 'decimal(12, 2)') }} as subsidy_last_full_quarter_eur,
        -- lineage and cast problems
        filename as source_file,
        source_line_number,
        {{ cast_problems({'subsidie_laatste_volledig_kwartaal': 'decimal(12, 2)'}) }} as cast_problem
    from source

)

select * from renamed
