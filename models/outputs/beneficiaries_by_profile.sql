{#- Begunstigden per maatregel naar geslacht, leeftijdsklasse, provincie en
    onderwijsniveau: the beneficiaries of each measure by sex, age class, province and
    education level, each person described at the first quarter of the measure
    (min start_quarter). Beneficiaries whose first quarter lies outside 2014Q1-2022Q4
    have no observation at that quarter and are left out. measure_code 'Total': every
    beneficiary once, at the first quarter of the earliest measure within the panel.
    One-way margins: each row classes by one dimension, 'Total' in the others.
    The cells and their persons are declared once, in beneficiaries_by_profile_persons;
    this counts them. -#}

with

persons as (

    select * from {{ ref('beneficiaries_by_profile_persons') }}

),

final as (

    select
        measure_code,
        sex_code,
        age_class,
        province_code,
        education_level_code,
        count(distinct person_id) as n_persons
    from persons
    group by measure_code, sex_code, age_class, province_code, education_level_code

)

select * from final
