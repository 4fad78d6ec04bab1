{#- Basisbestand begunstigden: one row per beneficiary per quarter 2014Q1-2022Q4. -#}

with

person_quarters as (

    select * from {{ ref('int_person_quarters_classed') }}
    where is_beneficiary

),

final as (

    select
        {{ base_file_columns() | join(',\n        ') }}
    from person_quarters

)

select * from final
