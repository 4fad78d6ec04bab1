{#- Tewerkstelling rond de maatregel: the employment outcome in quarters -4 ... +8
    relative to the first quarter of the measure (quarter 0, measure_first_quarters), per
    measure, for the beneficiaries and for comparable controls.

    - Beneficiaries: those whose whole window lies in 2014Q1-2022Q4 (first quarter
      2015Q1-2020Q4), so every relative quarter counts the same persons. measure_code
      'Total': every beneficiary once, at the earliest measure.
    - Comparable controls: control persons who are not beneficiaries, in the same cell
      (sex, age class, region) at the same calendar quarter 0 as the beneficiaries, and
      followed over the same calendar quarters. Each cell and start quarter is weighted
      by its number of beneficiaries (exact stratification on cell x start quarter);
      beneficiaries of a cell without any control are left out of the control side.
    - share_employed: share with position_group 'working'; mean_days_worked: mean of the
      days-worked class midpoints ((lower_bound + upper_bound - 1) / 2 of seed
      class_bounds, scheme days_in_quarter: 0, 10, 29.5, 49.5, 68.5, 85); 'unknown' days
      are left out of the mean.
    - dc_days_worked_*: the contributors the dominance and p% rules need (never
      exported). For beneficiaries: the sum and the two largest values. For controls
      (weighted): the weighted sum and upper bounds of the two largest persons'
      contributions (their total weight over all cohorts times the largest midpoint). -#}
{%- set quarters_before, quarters_after = 4, 8 %}
{%- set relative_quarter_range = range(-quarters_before, quarters_after + 1) %}

with

{{ employment_window_ctes(quarters_before, quarters_after) }},

largest_midpoint as (

    select max(days_worked_midpoint) as days_worked_midpoint
    from days_midpoints

),

beneficiary_window as (

    select
        measure_code,
        relative_quarter,
        person_id,
        employed_flag,
        days_worked_midpoint,
        row_number() over (
            partition by measure_code, relative_quarter
            order by coalesce(days_worked_midpoint, -1) desc
        ) as contribution_rank
    from cohort_quarters

),

beneficiary_cells as (

    select
        measure_code,
        'beneficiaries' as population_group,
        relative_quarter,
        count(distinct person_id) as n_persons,
        avg(cast(employed_flag as {{ type_double() }})) as share_employed,
        avg(days_worked_midpoint) as mean_days_worked,
        sum(days_worked_midpoint) as dc_days_worked_total,
        max(case when contribution_rank = 1 then days_worked_midpoint end) as dc_days_worked_top1,
        max(case when contribution_rank = 2 then days_worked_midpoint end) as dc_days_worked_top2
    from beneficiary_window
    group by measure_code, relative_quarter

),

cohort_cells as (

    select
        measure_code,
        start_index,
        sex_code,
        age_class,
        region_code,
        count(*) as n_beneficiaries
    from cohorts
    group by measure_code, start_index, sex_code, age_class, region_code

),

control_cells as (

    -- each control person in their cell at every possible quarter 0
    select
        outcomes.person_id,
        outcomes.quarter_index as start_index,
        outcomes.sex_code,
        outcomes.age_class,
        outcomes.region_code,
        count(*) over (
            partition by outcomes.quarter_index, outcomes.sex_code, outcomes.age_class, outcomes.region_code
        ) as n_controls
    from outcomes
    inner join event_window
        on outcomes.quarter_index between event_window.first_start_index and event_window.last_start_index
    where outcomes.population_group = 'controls'

),

control_histories as (

    -- each control person at every quarter, with the outcomes of the quarters around it:
    -- one pass over each person's history instead of joining every quarter 0 to every
    -- relative quarter (the base files are balanced, so the neighbours are the person's
    -- own quarters, tested by base_files_have_36_quarters_per_person)
    select
        person_id,
        quarter_index as start_index,
        sex_code,
        age_class,
        {% for relative_quarter in relative_quarter_range -%}
        {%- set shift = 'lag' if relative_quarter < 0 else 'lead' -%}
        {{ shift }}(employed_flag, {{ relative_quarter | abs }}) over person_history as employed_at_{{ loop.index }},
        {{ shift }}(days_worked_midpoint, {{ relative_quarter | abs }}) over person_history as days_worked_at_{{ loop.index }},
        {% endfor -%}
        region_code
    from outcomes
    where population_group = 'controls'
    window person_history as (partition by person_id order by quarter_index)

),

control_cell_sums as (

    -- per cell and quarter 0, the controls' outcomes summed for each relative quarter
    select
        control_histories.start_index,
        control_histories.sex_code,
        control_histories.age_class,
        control_histories.region_code,
        {% for relative_quarter in relative_quarter_range -%}
        count(control_histories.employed_at_{{ loop.index }}) as n_followed_at_{{ loop.index }},
        sum(control_histories.employed_at_{{ loop.index }}) as n_employed_at_{{ loop.index }},
        sum(control_histories.days_worked_at_{{ loop.index }}) as days_worked_sum_at_{{ loop.index }},
        count(control_histories.days_worked_at_{{ loop.index }}) as n_days_known_at_{{ loop.index }},
        {% endfor -%}
        count(*) as n_controls
    from control_histories
    inner join event_window
        on control_histories.start_index between event_window.first_start_index and event_window.last_start_index
    group by
        control_histories.start_index,
        control_histories.sex_code,
        control_histories.age_class,
        control_histories.region_code

),

control_cell_outcomes as (

    -- the same, one row per relative quarter
    {%- for relative_quarter in relative_quarter_range %}
    select
        start_index,
        sex_code,
        age_class,
        region_code,
        {{ relative_quarter }} as relative_quarter,
        n_controls,
        n_followed_at_{{ loop.index }} as n_followed,
        n_employed_at_{{ loop.index }} as n_employed,
        days_worked_sum_at_{{ loop.index }} as days_worked_sum,
        n_days_known_at_{{ loop.index }} as n_days_known
    from control_cell_sums
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

control_cells_followed as (

    -- each cell and quarter 0 weighted by the measure's beneficiaries in it: a control
    -- stands for n_beneficiaries / n_controls persons
    select
        cohort_cells.measure_code,
        control_cell_outcomes.relative_quarter,
        sum(
            cast(cohort_cells.n_beneficiaries as {{ type_double() }})
            * control_cell_outcomes.n_followed / control_cell_outcomes.n_controls
        ) as weighted_persons,
        sum(
            cast(cohort_cells.n_beneficiaries as {{ type_double() }})
            * control_cell_outcomes.n_employed / control_cell_outcomes.n_controls
        ) as weighted_employed,
        sum(
            cast(cohort_cells.n_beneficiaries as {{ type_double() }})
            * control_cell_outcomes.days_worked_sum / control_cell_outcomes.n_controls
        ) as weighted_days_worked,
        sum(
            cast(cohort_cells.n_beneficiaries as {{ type_double() }})
            * control_cell_outcomes.n_days_known / control_cell_outcomes.n_controls
        ) as weighted_days_known
    from cohort_cells
    inner join control_cell_outcomes
        on
            cohort_cells.start_index = control_cell_outcomes.start_index
            and cohort_cells.sex_code = control_cell_outcomes.sex_code
            and cohort_cells.age_class = control_cell_outcomes.age_class
            and cohort_cells.region_code = control_cell_outcomes.region_code
    group by cohort_cells.measure_code, control_cell_outcomes.relative_quarter

),

control_person_weights as (

    -- each control person's total weight in a measure's comparison, over every cohort
    -- they stand in for: bounds their contribution to any relative quarter
    select
        cohort_cells.measure_code,
        control_cells.person_id,
        sum(cast(cohort_cells.n_beneficiaries as {{ type_double() }}) / control_cells.n_controls) as person_weight
    from cohort_cells
    inner join control_cells
        on
            cohort_cells.start_index = control_cells.start_index
            and cohort_cells.sex_code = control_cells.sex_code
            and cohort_cells.age_class = control_cells.age_class
            and cohort_cells.region_code = control_cells.region_code
    group by cohort_cells.measure_code, control_cells.person_id

),

control_weights_ranked as (

    select
        measure_code,
        person_weight,
        row_number() over (partition by measure_code order by person_weight desc) as weight_rank
    from control_person_weights

),

control_persons as (

    select
        measure_code,
        count(*) as n_persons,
        max(case when weight_rank = 1 then person_weight end) as top1_weight,
        max(case when weight_rank = 2 then person_weight end) as top2_weight
    from control_weights_ranked
    group by measure_code

),

control_measure_cells as (

    select
        control_cells_followed.measure_code,
        'controls' as population_group,
        control_cells_followed.relative_quarter,
        control_persons.n_persons,
        control_cells_followed.weighted_employed / control_cells_followed.weighted_persons as share_employed,
        control_cells_followed.weighted_days_worked
        / nullif(control_cells_followed.weighted_days_known, 0) as mean_days_worked,
        control_cells_followed.weighted_days_worked as dc_days_worked_total,
        control_persons.top1_weight * largest_midpoint.days_worked_midpoint as days_worked_top1_bound,
        control_persons.top2_weight * largest_midpoint.days_worked_midpoint as days_worked_top2_bound
    from control_cells_followed
    inner join control_persons
        on control_cells_followed.measure_code = control_persons.measure_code
    cross join largest_midpoint

),

control_cells_bounded as (

    select
        measure_code,
        population_group,
        relative_quarter,
        n_persons,
        share_employed,
        mean_days_worked,
        dc_days_worked_total,
        least(days_worked_top1_bound, dc_days_worked_total) as dc_days_worked_top1,
        least(
            coalesce(days_worked_top2_bound, 0),
            dc_days_worked_total - least(days_worked_top1_bound, dc_days_worked_total)
        ) as dc_days_worked_top2
    from control_measure_cells

),

final as (

    select * from beneficiary_cells
    union all
    select * from control_cells_bounded

)

select * from final
