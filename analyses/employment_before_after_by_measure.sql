-- A researcher's first look, inside the secure environment (not an output: it is not
-- disclosure-checked): share employed in the year before and the year after the first
-- measure quarter, per measure, from the base files only. Compile with `dbt compile`
-- and run the SQL in target/compiled against wse_impact.duckdb.

with

first_quarters as (

    select
        measure_code,
        person_id,
        first_quarter_index as start_index
    from {{ ref('measure_first_quarters') }}
    where measure_code <> 'Total'

),

base as (

    select * from {{ ref('beneficiary_base') }}

),

quarters as (

    select * from {{ ref('quarters') }}

),

around as (

    select
        first_quarters.measure_code,
        case when quarters.quarter_index < first_quarters.start_index then 'before' else 'after' end as period,
        base.position_group = 'working' as is_working
    from first_quarters
    inner join base
        on first_quarters.person_id = base.person_id
    inner join quarters
        on base.snapshot_quarter = quarters.quarter
    where
        quarters.quarter_index between first_quarters.start_index - 4 and first_quarters.start_index + 4
        and quarters.quarter_index <> first_quarters.start_index

),

final as (

    select
        measure_code,
        avg(case when period = 'before' then cast(is_working as integer) end) as share_employed_before,
        avg(case when period = 'after' then cast(is_working as integer) end) as share_employed_after
    from around
    group by measure_code

)

select * from final
