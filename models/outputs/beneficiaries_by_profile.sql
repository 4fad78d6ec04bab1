{#- Begunstigden per maatregel naar geslacht, leeftijdsklasse, provincie en
    onderwijsniveau: the beneficiaries of each measure by sex, age class, province and
    education level, each person described at the first quarter of the measure
    (min start_quarter). Beneficiaries whose first quarter lies outside 2014Q1-2022Q4
    have no observation at that quarter and are left out. measure_code 'Total': every
    beneficiary once, at the first quarter of the earliest measure within the panel.
    One-way margins: each row classes by one dimension, 'Total' in the others. -#}

with

beneficiary_measures as (

    select * from {{ ref('beneficiary_measures') }}

),

beneficiary_base as (

    select * from {{ ref('beneficiary_base') }}

),

measure_starts as (

    -- one row per person and measure (beneficiary_measures' key)
    select
        person_id,
        measure_code,
        start_quarter as first_quarter
    from beneficiary_measures
    where start_quarter is not null

),

profiles as (

    select
        measure_starts.measure_code,
        measure_starts.person_id,
        measure_starts.first_quarter,
        coalesce(cast(beneficiary_base.sex_code as {{ dbt.type_string() }}), 'unknown') as sex_code,
        coalesce(cast(beneficiary_base.age_class as {{ dbt.type_string() }}), 'unknown') as age_class,
        coalesce(beneficiary_base.province_code, 'unknown') as province_code,
        coalesce(
            cast(beneficiary_base.education_level_code as {{ dbt.type_string() }}), 'unknown'
        ) as education_level_code
    from measure_starts
    inner join beneficiary_base
        on
            measure_starts.person_id = beneficiary_base.person_id
            and measure_starts.first_quarter = beneficiary_base.snapshot_quarter

),

first_profiles as (

    select
        person_id,
        min(first_quarter) as first_quarter
    from profiles
    group by person_id

),

all_measures as (

    select distinct
        'Total' as measure_code,
        profiles.person_id,
        profiles.first_quarter,
        profiles.sex_code,
        profiles.age_class,
        profiles.province_code,
        profiles.education_level_code
    from profiles
    inner join first_profiles
        on
            profiles.person_id = first_profiles.person_id
            and profiles.first_quarter = first_profiles.first_quarter

),

unioned as (

    select * from profiles
    union all
    select * from all_measures

),

by_measure as (

    select
        measure_code,
        'Total' as sex_code,
        'Total' as age_class,
        'Total' as province_code,
        'Total' as education_level_code,
        count(distinct person_id) as n_persons
    from unioned
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
    from unioned
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
    from unioned
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
    from unioned
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
    from unioned
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
