with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'arbeidsmatige_activiteiten') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(type_arbeidszorg) as care_type,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_eerste_ondersteuning)) as first_support_quarter,
        upper(trim(kwartaal_laatste_ondersteuning)) as last_support_quarter,
        -- lineage and cast problems
        filename as source_file,
        source_line_number,
        {{ cast_problems({}) }} as cast_problem
    from source

)

select * from renamed
