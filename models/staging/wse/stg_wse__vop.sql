with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'vop') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(type_toelage) as allowance_type,
        trim(dossiertype) as dossier_type,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_toekenning)) as first_grant_quarter,
        upper(trim(kwartaal_laatste_toekenning)) as last_grant_quarter,
        -- numerics
        {{ try_cast_value('totaal_bedrag', 'decimal(12, 2)') }} as total_amount_eur,
        {{ try_cast_value('duurtijd_toekenning_kwartalen', 'integer') }} as grant_duration_quarters,
        -- booleans
        {{ parse_yes_no('meerdere_periodes') }} as has_multiple_periods,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'totaal_bedrag': 'decimal(12, 2)', 'duurtijd_toekenning_kwartalen': 'integer', 'meerdere_periodes': 'yes_no'}) }}
            as cast_problem
    from source

)

select * from renamed
