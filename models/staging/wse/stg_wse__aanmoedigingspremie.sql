with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'aanmoedigingspremie') }}

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
        filename as source_file,
        source_line_number,
        {{ cast_problems({'totaal_bedrag': 'decimal(12, 2)', 'aantal_aanvragen': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
