{#- Begunstigden per maatregel naar geslacht, leeftijdsklasse, provincie en
    onderwijsniveau: the beneficiaries of each measure by sex, age class, province and
    education level, each person described at the first quarter of the measure
    (min start_quarter). Beneficiaries whose first quarter lies outside 2014Q1-2022Q4
    have no observation at that quarter and are left out. measure_code 'Total': every
    beneficiary once, at the first quarter of the earliest measure within the panel.
    One-way margins: each row classes by one dimension, 'Total' in the others. -#}

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
        count(distinct person_id) as n_persons
    from profiles
    group by measure_code

),

by_sex as (

    select
        measure_code,
        sex_code,
        'Total' as age_class,
        'Total' as province_code,
        'Total' as education_level_code,
        count(distinct person_id) as n_persons
    from profiles
    group by measure_code, sex_code

),

by_age as (

    select
        measure_code,
        'Total' as sex_code,
        age_class,
        'Total' as province_code,
        'Total' as education_level_code,
        count(distinct person_id) as n_persons
    from profiles
    group by measure_code, age_class

),

by_province as (

    select
        measure_code,
        'Total' as sex_code,
        'Total' as age_class,
        province_code,
        'Total' as education_level_code,
        count(distinct person_id) as n_persons
    from profiles
    group by measure_code, province_code

),

by_education_level as (

    select
        measure_code,
        'Total' as sex_code,
        'Total' as age_class,
        'Total' as province_code,
        education_level_code,
        count(distinct person_id) as n_persons
    from profiles
    group by measure_code, education_level_code

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
