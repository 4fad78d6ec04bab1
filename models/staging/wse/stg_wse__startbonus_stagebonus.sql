with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'startbonus_stagebonus') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(stagebonus_ontvangen) as internship_bonus_type,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_uitbetaling)) as first_payment_quarter,
        -- numerics
        {{ try_cast_value('totaal_bedrag', 'decimal(12, 2)') }} as total_amount_eur,
        -- booleans
        {{ parse_yes_no('startbonus_ontvangen') }} as has_start_bonus,
        -- lineage and cast problems
        filename as source_file,
        source_line_number,
        {{ cast_problems({'totaal_bedrag': 'decimal(12, 2)', 'startbonus_ontvangen': 'yes_no'}) }} as cast_problem
    from source

)

select * from renamed
