with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'aanwervingsincentive') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(type_contract) as contract_type,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_laatste_uitbetaling)) as last_payment_quarter,
        -- numerics
        {{ try_cast_value('totaal_bedrag', 'decimal(12, 2)') }} as total_amount_eur,
        {{ try_cast_value('tewerkstellingspercentage', 'decimal(5, 2)') }} as employment_pct,
        -- lineage and cast problems
        filename as source_file,
        source_line_number,
        {{ cast_problems({'totaal_bedrag': 'decimal(12, 2)', 'tewerkstellingspercentage': 'decimal(5, 2)'}) }} as cast_problem
    from source

)

select * from renamed
