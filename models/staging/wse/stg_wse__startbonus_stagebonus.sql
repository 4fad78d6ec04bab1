with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'startbonus_stagebonus') }}

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
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'totaal_bedrag': 'decimal(12, 2)', 'startbonus_ontvangen': 'yes_no'}) }} as cast_problem
    from source

)

select * from renamed
