{#- The persons behind every cell of beneficiaries_by_profile, one row per cell and person:
    the beneficiaries of each measure described at the first quarter of the measure, in
    each one-way margin (one dimension classed, 'Total' in the others). The output counts
    these rows' distinct persons, and the release keeps each cell's set of persons
    (differencing on person sets), so both come from here. Schema persons: never released. -#}
{{ config(materialized='view', schema='persons') }}

with

first_quarters as (

    select * from {{ ref('measure_first_quarters') }}

),

beneficiary_base as (

    select * from {{ ref('beneficiary_base') }}

),

profiles as (

    select
        first_quarters.measure_code,
        first_quarters.person_id,
        first_quarters.first_quarter,
        {{ cell_label('beneficiary_base.sex_code') }} as sex_code,
        {{ cell_label('beneficiary_base.age_class') }} as age_class,
        {{ cell_label('beneficiary_base.province_code') }} as province_code,
        {{ cell_label('beneficiary_base.education_level_code') }} as education_level_code
    from first_quarters
    inner join beneficiary_base
        on
            first_quarters.person_id = beneficiary_base.person_id
            and first_quarters.first_quarter = beneficiary_base.snapshot_quarter

),

by_measure as (

    select
        measure_code,
        'Total' as sex_code,
        'Total' as age_class,
        'Total' as province_code,
        'Total' as education_level_code,
        person_id
    from profiles

),

by_sex as (

    select
        measure_code,
        sex_code,
        'Total' as age_class,
        'Total' as province_code,
        'Total' as education_level_code,
        person_id
    from profiles

),

by_age as (

    select
        measure_code,
        'Total' as sex_code,
        age_class,
        'Total' as province_code,
        'Total' as education_level_code,
        person_id
    from profiles

),

by_province as (

    select
        measure_code,
        'Total' as sex_code,
        'Total' as age_class,
        province_code,
        'Total' as education_level_code,
        person_id
    from profiles

),

by_education_level as (

    select
        measure_code,
        'Total' as sex_code,
        'Total' as age_class,
        'Total' as province_code,
        education_level_code,
        person_id
    from profiles

),

final as (

    select * from by_measure
    union all
    select * from by_sex
    union all
    select * from by_age
    union all
    select * from by_province
    union all
    select * from by_education_level

)

select * from final
