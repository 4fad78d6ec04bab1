with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'transitiepremie') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(rechtsvorm_onderneming) as legal_form,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_ontvangst)) as first_receipt_quarter,
        -- numerics
        {{ try_cast_value('totaal_bedrag', 'decimal(12, 2)') }} as total_amount_eur,
        -- booleans
        {{ parse_yes_no('voordien_zelfstandige_bijberoep') }} as was_secondary_self_employed,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'voordien_zelfstandige_bijberoep': 'yes_no', 'totaal_bedrag': 'decimal(12, 2)'}) }} as cast_problem
    from source

)

select * from renamed
