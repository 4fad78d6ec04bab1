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

with

{{ employment_window_ctes(quarters_before, quarters_after) }},

largest_midpoint as (

    select max(days_worked_midpoint) as days_worked_midpoint
    from days_midpoints

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
        -- the two largest contributions, without ranking every person of the cell
        max(days_worked_midpoint) as dc_days_worked_top1,
        {{ second_largest('days_worked_midpoint') }} as dc_days_worked_top2
    from cohort_quarters
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

control_cells {{ cte_as_not_materialized() }} (

    -- each control person in their cell at every possible quarter 0; not materialised:
    -- each of its three readers reads the base files again rather than DuckDB holding all
    -- of it (25 million rows at scale 10, where holding it made the join below spill 8 GB
    -- and take 1.7 times as long)
    select
        outcomes.person_id,
        outcomes.quarter_index as start_index,
        outcomes.sex_code,
        outcomes.age_class,
        outcomes.region_code
    from outcomes
    inner join event_window
        on outcomes.quarter_index between event_window.first_start_index and event_window.last_start_index
    where outcomes.population_group = 'controls'

),

control_cell_sizes as (

    select
        start_index,
        sex_code,
        age_class,
        region_code,
        count(*) as n_controls
    from control_cells
    group by start_index, sex_code, age_class, region_code

),

control_quarters_followed as (

    -- each control person in their cell at quarter 0, once for each relative quarter, with
    -- the quarter whose outcome counts (a column of its own, so that the join below is on
    -- person and quarter and not on person alone)
    select
        control_cells.person_id,
        control_cells.start_index,
        control_cells.sex_code,
        control_cells.age_class,
        control_cells.region_code,
        relative_quarters.relative_quarter,
        control_cells.start_index + relative_quarters.relative_quarter as followed_index
    from control_cells
    cross join relative_quarters

),

control_outcomes_followed as (

    -- the outcome of each control person at each relative quarter: a join on the person's
    -- own quarters, whose table (one row per control person-quarter, four narrow columns)
    -- is all it holds in memory, where a window over each person's history (lag and lead)
    -- held every control person-quarter with 26 shifted columns
    select
        control_quarters_followed.start_index,
        control_quarters_followed.sex_code,
        control_quarters_followed.age_class,
        control_quarters_followed.region_code,
        control_quarters_followed.relative_quarter,
        followed.employed_flag,
        followed.days_worked_midpoint
    from control_quarters_followed
    inner join outcomes as followed
        on
            control_quarters_followed.person_id = followed.person_id
            and control_quarters_followed.followed_index = followed.quarter_index
            and followed.population_group = 'controls'

),

control_cell_sums as (

    -- per cell, quarter 0 and relative quarter, the controls' outcomes summed
    select
        start_index,
        sex_code,
        age_class,
        region_code,
        relative_quarter,
        count(*) as n_followed,
        sum(employed_flag) as n_employed,
        sum(days_worked_midpoint) as days_worked_sum,
        count(days_worked_midpoint) as n_days_known
    from control_outcomes_followed
    group by start_index, sex_code, age_class, region_code, relative_quarter

),

control_cell_outcomes as (

    select
        control_cell_sums.*,
        control_cell_sizes.n_controls
    from control_cell_sums
    inner join control_cell_sizes
        on
            control_cell_sums.start_index = control_cell_sizes.start_index
            and control_cell_sums.sex_code = control_cell_sizes.sex_code
            and control_cell_sums.age_class = control_cell_sizes.age_class
            and control_cell_sums.region_code = control_cell_sizes.region_code

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

{#- A control person's weight in a measure's comparison: the sum, over every quarter 0, of
    what a control of their cell then stands for. Summed per person with one column per
    measure (measure_catalog and 'Total', known when the model is compiled), the sums read
    each control person-quarter once (25 million rows at scale 10) instead of once per
    measure (200 million rows into 14 million measure-person sums, which spilled 8 GB). -#}
{%- set weighted_measures = measure_catalog().keys() | list + ['Total'] %}

cell_weights as (

    -- what one control of a cell and quarter 0 stands for in each measure's comparison
    select
        {% for measure_code in weighted_measures -%}
        sum(
            case
                when cohort_cells.measure_code = '{{ measure_code }}'
                    then cast(cohort_cells.n_beneficiaries as {{ type_double() }}) / control_cell_sizes.n_controls
            end
        ) as weight_{{ loop.index }},
        {% endfor -%}
        control_cell_sizes.start_index,
        control_cell_sizes.sex_code,
        control_cell_sizes.age_class,
        control_cell_sizes.region_code
    from cohort_cells
    inner join control_cell_sizes
        on
            cohort_cells.start_index = control_cell_sizes.start_index
            and cohort_cells.sex_code = control_cell_sizes.sex_code
            and cohort_cells.age_class = control_cell_sizes.age_class
            and cohort_cells.region_code = control_cell_sizes.region_code
    group by
        control_cell_sizes.start_index,
        control_cell_sizes.sex_code,
        control_cell_sizes.age_class,
        control_cell_sizes.region_code

),

control_person_weights as (

    -- each control person's total weight in each measure's comparison, over every cohort
    -- they stand in for (null: in none of the measure's): bounds their contribution to any
    -- relative quarter
    select
        {% for measure_code in weighted_measures -%}
        sum(cell_weights.weight_{{ loop.index }}) as weight_{{ loop.index }},
        {% endfor -%}
        control_cells.person_id
    from control_cells
    inner join cell_weights
        on
            control_cells.start_index = cell_weights.start_index
            and control_cells.sex_code = cell_weights.sex_code
            and control_cells.age_class = cell_weights.age_class
            and control_cells.region_code = cell_weights.region_code
    group by control_cells.person_id

),

largest_weights as (

    -- per measure, in one pass (a second pass comparing with the largest would meet
    -- weights summed again in another order, on Spark, and miss the largest by a bit)
    select
        {% for measure_code in weighted_measures -%}
        count(weight_{{ loop.index }}) as n_persons_{{ loop.index }},
        max(weight_{{ loop.index }}) as top1_weight_{{ loop.index }},
        {{ second_largest('weight_' ~ loop.index) }} as top2_weight_{{ loop.index }},
        {% endfor -%}
        count(*) as n_control_persons
    from control_person_weights

),

control_persons as (

    -- per measure: the control persons standing in for its beneficiaries, and the weights
    -- of the two largest
    {%- for measure_code in weighted_measures %}
    select
        '{{ measure_code }}' as measure_code,
        largest_weights.n_persons_{{ loop.index }} as n_persons,
        largest_weights.top1_weight_{{ loop.index }} as top1_weight,
        largest_weights.top2_weight_{{ loop.index }} as top2_weight
    from largest_weights
    where largest_weights.n_persons_{{ loop.index }} > 0
    {{ 'union all' if not loop.last }}
    {%- endfor %}

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
