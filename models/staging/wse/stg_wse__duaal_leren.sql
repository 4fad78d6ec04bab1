with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'duaal_leren') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(opleiding) as training_code,
        trim(stelsel) as system_code,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_start_overeenkomst)) as contract_start_quarter,
        upper(trim(kwartaal_einde_overeenkomst)) as contract_end_quarter,
        -- numerics
        {{ try_cast_value('aantal_overeenkomsten', 'integer') }} as contracts_count,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'aantal_overeenkomsten': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
