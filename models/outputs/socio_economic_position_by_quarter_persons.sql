{#- The persons behind every cell of socio_economic_position_by_quarter, one row per cell
    and person: each population's persons per quarter by socio-economic position, and
    again under 'Total' (every position). The output counts these rows' distinct persons,
    and the release keeps each cell's set of persons. Schema persons: never released. -#}
{{ config(materialized='view', schema='persons') }}

with

population_person_quarters as (

    select * from {{ ref('population_person_quarters') }}

),

by_position as (

    select
        population_group,
        snapshot_quarter,
        {{ cell_label('socio_economic_position_code') }} as socio_economic_position_code,
        person_id
    from population_person_quarters

),

all_positions as (

    select
        population_group,
        snapshot_quarter,
        'Total' as socio_economic_position_code,
        person_id
    from population_person_quarters

),

final as (

    select * from by_position
    union all
    select * from all_positions

)

select * from final
