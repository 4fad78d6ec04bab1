{#- The balanced panel: every study person x every quarter 2014Q1-2022Q4, with the
    warehouse situation where the person is in the register and an explicit 'not in
    register' position where not. Raw values and their classes sit side by side here
    (restricted); the marts keep only the classes and codes. Sex and birth date are fixed
    per person, so sex and age class are known in every quarter. -#}
{{ config(materialized='view') }}
-- depends_on: {{ ref('class_bounds') }}

with

persons as (

    select * from {{ ref('int_persons_pseudonymised') }}

),

quarters as (

    select * from {{ ref('quarters') }}

),

snapshots as (

    select * from {{ ref('int_snapshots_checked') }}
    where is_accepted

),

arrondissements as (

    select * from {{ ref('arrondissements') }}

),

provinces as (

    select * from {{ ref('provinces') }}

),

nace_sections as (

    select * from {{ ref('nace_sections') }}

),

positions as (

    select * from {{ ref('socio_economic_positions') }}

),

person_attributes as (

    -- fixed over time: taken from the person's first quarter in the register
    select
        insz,
        arg_min(sex_code, snapshot_quarter) as sex_code,
        arg_min(birth_date, snapshot_quarter) as birth_date
    from snapshots
    group by insz

),

nace_divisions as (

    -- the section of each 2-digit division, so that snapshots join on equality
    select
        division.division_number,
        nace_sections.nace_section
    from range(1, 100) as division (division_number)
    inner join nace_sections
        on division.division_number between nace_sections.first_division and nace_sections.last_division

),

panel as (

    select
        persons.person_id,
        persons.insz,
        persons.is_beneficiary,
        persons.is_control,
        persons.beneficiary_measure_codes,
        quarters.quarter as snapshot_quarter,
        quarters.last_day as quarter_last_day,
        quarters.days_in_quarter,
        person_attributes.sex_code,
        person_attributes.birth_date,
        date_sub('year', person_attributes.birth_date, quarters.last_day) as age_years
    from persons
    cross join quarters
    left join person_attributes
        on persons.insz = person_attributes.insz

),

joined as (

    select
        panel.*,
        snapshots.insz is not null as is_in_register,
        snapshots.arrondissement_code,
        provinces.province_code,
        provinces.region_code,
        snapshots.urbanisation_code,
        snapshots.origin_code,
        snapshots.nationality_code,
        snapshots.birth_country_code,
        snapshots.residence_years,
        snapshots.education_level_code,
        snapshots.is_low_work_intensity_household,
        snapshots.household_type_code,
        snapshots.household_income_eur,
        snapshots.seniority_quarters,
        snapshots.nace_code,
        nace_divisions.nace_section,
        snapshots.joint_committee_code,
        snapshots.work_regime_code,
        snapshots.days_worked,
        snapshots.quarters_worked,
        snapshots.part_time_pct,
        snapshots.employee_class_code,
        snapshots.is_self_employed,
        snapshots.employer_size_code,
        snapshots.commute_distance_km,
        snapshots.daily_wage_eur,
        snapshots.gross_quarterly_wage_eur,
        coalesce(snapshots.socio_economic_position_code, '0.0') as socio_economic_position_code,
        snapshots.additional_position_code,
        snapshots.job_seeker_category_code,
        snapshots.has_recognised_disability,
        snapshots.incapacity_pct,
        snapshots.incapacity_days
    from panel
    left join snapshots
        on
            panel.insz = snapshots.insz
            and panel.snapshot_quarter = snapshots.snapshot_quarter
    left join arrondissements
        on snapshots.arrondissement_code = arrondissements.arrondissement_code
    left join provinces
        on arrondissements.province_code = provinces.province_code
    left join nace_divisions
        on try_cast(substr(snapshots.nace_code, 1, 2) as integer) = nace_divisions.division_number

),

final as (

    select
        joined.*,
        positions.position_group,
        {{ class_value('joined.age_years', 'age_years', 'age_class') }} as age_class,
        {{ class_value('joined.residence_years', 'residence_years', 'residence_years_class') }} as residence_years_class,
        {{ class_value('joined.household_income_eur', 'household_income_eur', 'household_income_class') }} as household_income_class,
        {{ class_value('joined.seniority_quarters', 'seniority_quarters', 'seniority_class') }} as seniority_class,
        {{ class_value('joined.days_worked', 'days_in_quarter', 'days_worked_class') }} as days_worked_class,
        {{ class_value('joined.commute_distance_km', 'commute_distance_km', 'commute_distance_class') }} as commute_distance_class,
        {{ class_value('joined.daily_wage_eur', 'daily_wage_eur', 'daily_wage_class') }} as daily_wage_class,
        {{ class_value('joined.gross_quarterly_wage_eur', 'gross_quarterly_wage_eur', 'gross_quarterly_wage_class') }}
            as gross_quarterly_wage_class,
        {{ class_value('joined.incapacity_pct', 'incapacity_pct', 'incapacity_pct_class') }} as incapacity_pct_class,
        {{ class_value('joined.incapacity_days', 'days_in_quarter', 'incapacity_days_class') }} as incapacity_days_class
    from joined
    left join positions
        on joined.socio_economic_position_code = positions.socio_economic_position_code

)

select * from final
