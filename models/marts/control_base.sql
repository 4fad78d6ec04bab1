{#- Basisbestand controlegroep: one row per control person per quarter 2014Q1-2022Q4, the
    same variables as beneficiary_base, plus the overlap flag. -#}

with

person_quarters as (

    select * from {{ ref('int_person_quarters_classed') }}
    where is_control

),

final as (

    select
        {{ base_file_columns() | join(',\n        ') }},
        is_beneficiary,
        beneficiary_measure_codes
    from person_quarters

)

select * from final
