with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'opleidingscheques') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_aanvraag)) as first_request_quarter,
        upper(trim(kwartaal_laatste_aanvraag)) as last_request_quarter,
        -- numerics
        {{ try_cast_value('aantal_cheques', 'integer') }} as cheques_requested,
        {{ try_cast_value('bedrag_laatste_uitbetaling', 'decimal(12, 2)') }} as last_payment_eur,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'aantal_cheques': 'integer', 'bedrag_laatste_uitbetaling': 'decimal(12, 2)'}) }} as cast_problem
    from source

)

select * from renamed
