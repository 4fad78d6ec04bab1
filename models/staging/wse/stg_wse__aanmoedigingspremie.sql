with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'aanmoedigingspremie') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(motief) as motive,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_goedkeuring)) as approval_quarter,
        upper(trim(kwartaal_laatste_uitbetaling)) as last_payment_quarter,
        -- numerics
        {{ try_cast_value('totaal_bedrag', 'decimal(12, 2)') }} as total_amount_eur,
        {{ try_cast_value('aantal_aanvragen', 'integer') }} as applications_count,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'totaal_bedrag': 'decimal(12, 2)', 'aantal_aanvragen': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
