with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'duaal_leren') }}

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
        filename as source_file,
        source_line_number,
        {{ cast_problems({'aantal_overeenkomsten': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
