{#- The event window of employment_around_measure, declared once for the output and for
    the persons behind it (employment_around_measure_persons): each person-quarter's
    outcomes and cell labels, and the cohorts (each measure's beneficiaries whose whole
    window of `quarters_before` quarters before and `quarters_after` after quarter 0 lies
    in the panel, with their cell at quarter 0) at every relative quarter. Emits the CTEs, for a model's `with`. -#}
{% macro employment_window_ctes(quarters_before, quarters_after) %}

first_quarters as (

    select * from {{ ref('measure_first_quarters') }}

),

-- the populations (population_person_quarters), not materialised, as outcomes below: read
-- again by each reader, never held whole
person_quarters {{ cte_as_not_materialized() }} (

    {{ population_person_quarters_query() }}

),

quarters as (

    select * from {{ ref('quarters') }}

),

class_bounds as (

    select * from {{ ref('class_bounds') }}

),

days_midpoints as (

    select
        class_label as days_worked_class,
        cast(lower_bound + upper_bound - 1 as {{ type_double() }}) / 2 as days_worked_midpoint
    from class_bounds
    where class_scheme = 'days_in_quarter'

),

event_window as (

    -- quarter 0 must leave {{ quarters_before }} quarters before and {{ quarters_after }} after inside the panel
    select
        min(quarter_index) + {{ quarters_before }} as first_start_index,
        max(quarter_index) - {{ quarters_after }} as last_start_index
    from quarters

),

relative_quarters as (

    select relative_quarters.relative_quarter
    from range(-{{ quarters_before }}, {{ quarters_after }} + 1) as relative_quarters (relative_quarter)

),

-- not materialised: each reader scans the base files' few columns again rather than all
-- readers sharing one copy of every person-quarter in memory
outcomes {{ cte_as_not_materialized() }} (

    select
        person_quarters.population_group,
        person_quarters.person_id,
        quarters.quarter_index,
        {{ cell_label('person_quarters.sex_code') }} as sex_code,
        {{ cell_label('person_quarters.age_class') }} as age_class,
        {{ cell_label('person_quarters.region_code') }} as region_code,
        case when person_quarters.position_group = 'working' then 1 else 0 end as employed_flag,
        days_midpoints.days_worked_midpoint
    from person_quarters
    inner join quarters
        on person_quarters.snapshot_quarter = quarters.quarter
    left join days_midpoints
        on person_quarters.days_worked_class = days_midpoints.days_worked_class

),

cohorts as (

    -- beneficiaries with their cell at quarter 0 (of each measure, and of 'Total': every
    -- beneficiary once, at the earliest measure)
    select
        first_quarters.measure_code,
        first_quarters.person_id,
        first_quarters.first_quarter_index as start_index,
        outcomes.sex_code,
        outcomes.age_class,
        outcomes.region_code
    from first_quarters
    inner join event_window
        on first_quarters.first_quarter_index between event_window.first_start_index and event_window.last_start_index
    inner join outcomes
        on
            first_quarters.person_id = outcomes.person_id
            and first_quarters.first_quarter_index = outcomes.quarter_index
            and outcomes.population_group = 'beneficiaries'

),

cohort_quarters as (

    -- each cohort's beneficiaries at every relative quarter of the window
    select
        cohorts.measure_code,
        relative_quarters.relative_quarter,
        cohorts.person_id,
        outcomes.employed_flag,
        outcomes.days_worked_midpoint
    from cohorts
    cross join relative_quarters
    inner join outcomes
        on
            cohorts.person_id = outcomes.person_id
            and cohorts.start_index + relative_quarters.relative_quarter = outcomes.quarter_index
            and outcomes.population_group = 'beneficiaries'

)
{% endmacro %}
