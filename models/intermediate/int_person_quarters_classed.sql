{#- The balanced panel: every study person x every quarter 2014Q1-2022Q4, with the
    warehouse situation where the person is in the register and an explicit 'not in
    register' position where not. Raw values and their classes sit side by side here
    (restricted); the marts keep only the classes and codes. Sex and birth date are fixed
    per person, so sex and age class are known in every quarter. -#}
{#- A view: each base file computes only its own persons' quarters (the person filter is
    pushed down to the join with the person table), so the wide panel is written once, in
    the marts, rather than twice. -#}
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

geography as (

    select * from {{ ref('int_arrondissements_rolled_up') }}

),

nace_sections as (

    select * from {{ ref('nace_sections') }}

),

positions as (

    select * from {{ ref('socio_economic_positions') }}

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

-- the panel is built from the rows that exist plus the quarters that do not, rather than
-- by joining persons x quarters to every snapshot row: the wide rows meet only the small
-- person table, once, and the missing quarters and fixed attributes come from narrow keys
register_keys as (

    select
        persons.person_id,
        snapshots.snapshot_quarter,
        snapshots.sex_code,
        snapshots.birth_date
    from snapshots
    inner join persons
        on snapshots.insz = persons.insz

),

in_register as (

    select
        persons.person_id,
        persons.is_beneficiary,
        persons.is_control,
        persons.beneficiary_measure_codes,
        true as is_in_register,
        snapshots.* exclude (
            snapshots.insz,
            snapshots.source_file,
            snapshots.source_row_number,
            snapshots.rejection_reasons,
            snapshots.is_accepted
        )
    from snapshots
    inner join persons
        on snapshots.insz = persons.insz

),

out_of_register as (

    select
        persons.person_id,
        persons.is_beneficiary,
        persons.is_control,
        persons.beneficiary_measure_codes,
        false as is_in_register,
        quarters.quarter as snapshot_quarter
    from persons
    cross join quarters
    where not exists (
        select 1
        from register_keys
        where
            register_keys.person_id = persons.person_id
            and register_keys.snapshot_quarter = quarters.quarter
    )

),

person_attributes as (

    -- fixed over time: taken from the person's first quarter in the register
    select
        person_id,
        arg_min(sex_code, snapshot_quarter) as fixed_sex_code,
        arg_min(birth_date, snapshot_quarter) as fixed_birth_date
    from register_keys
    group by person_id

),

panel as (

    select * exclude (sex_code, birth_date) from in_register
    {{ union_all_by_name() }}
    select * from out_of_register

),

joined as (

    select
        panel.* exclude (socio_economic_position_code),
        person_attributes.fixed_sex_code as sex_code,
        date_sub('year', person_attributes.fixed_birth_date, quarters.last_day) as age_years,
        geography.province_code,
        geography.region_code,
        nace_divisions.nace_section,
        coalesce(panel.socio_economic_position_code, '0.0') as socio_economic_position_code
    from panel
    inner join quarters
        on panel.snapshot_quarter = quarters.quarter
    left join person_attributes
        on panel.person_id = person_attributes.person_id
    left join geography
        on panel.arrondissement_code = geography.arrondissement_code
    left join nace_divisions
        on try_cast(substr(panel.nace_code, 1, 2) as integer) = nace_divisions.division_number

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
