{#- The persons behind every count of employment_around_measure, one row per cell and
    person: the beneficiaries of each measure whose whole window -4 ... +8 lies in the
    panel, at every relative quarter, with is_employed (the persons with the attribute
    of share_employed); and the comparable controls of each measure (control persons who
    are not beneficiaries, in a cell and calendar quarter 0 of the measure's
    beneficiaries), at every relative quarter, with is_employed left empty: their share
    is weighted, not a count of persons. The same cohorts and matching as the output
    model; a test holds every cell's count equal to the output's n_persons.
    Schema persons: never released. -#}
{{ config(materialized='view', schema='persons') }}
{%- set quarters_before, quarters_after = 4, 8 %}

with

{{ employment_window_ctes(quarters_before, quarters_after) }},

beneficiary_persons as (

    select
        measure_code,
        'beneficiaries' as population_group,
        relative_quarter,
        person_id,
        employed_flag = 1 as is_employed
    from cohort_quarters

),

cohort_cells as (

    select distinct
        measure_code,
        start_index,
        sex_code,
        age_class,
        region_code
    from cohorts

),

control_matches as (

    -- the control persons in a cell and calendar quarter 0 of the measure's beneficiaries
    select distinct
        cohort_cells.measure_code,
        outcomes.person_id
    from cohort_cells
    inner join outcomes
        on
            cohort_cells.start_index = outcomes.quarter_index
            and cohort_cells.sex_code = outcomes.sex_code
            and cohort_cells.age_class = outcomes.age_class
            and cohort_cells.region_code = outcomes.region_code
            and outcomes.population_group = 'controls'

),

control_persons as (

    select
        control_matches.measure_code,
        'controls' as population_group,
        relative_quarters.relative_quarter,
        control_matches.person_id,
        cast(null as {{ dbt.type_boolean() }}) as is_employed
    from control_matches
    cross join relative_quarters

),

final as (

    select * from beneficiary_persons
    union all
    select * from control_persons

)

select * from final
