{#- Sociaal-economische positie per kwartaal, begunstigden en controlegroep: distinct
    persons per quarter and socio-economic position, for the beneficiaries (every person
    of beneficiary_base) and for the control group without the overlap (control persons
    who are not beneficiaries). 'Total' in socio_economic_position_code: all positions. -#}

with

population_person_quarters as (

    select * from {{ ref('population_person_quarters') }}

),

populations as (

    select
        population_group,
        person_id,
        snapshot_quarter,
        {{ cell_label('socio_economic_position_code') }} as socio_economic_position_code
    from population_person_quarters

),

by_position as (

    select
        population_group,
        snapshot_quarter,
        socio_economic_position_code,
        count(distinct person_id) as n_persons
    from populations
    group by population_group, snapshot_quarter, socio_economic_position_code

),

all_positions as (

    select
        population_group,
        snapshot_quarter,
        'Total' as socio_economic_position_code,
        count(distinct person_id) as n_persons
    from populations
    group by population_group, snapshot_quarter

),

final as (

    select * from by_position
    union all
    select * from all_positions

)

select * from final
