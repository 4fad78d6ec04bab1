{#- Sociaal-economische positie per kwartaal, begunstigden en controlegroep: distinct
    persons per quarter and socio-economic position, for the beneficiaries (every person
    of beneficiary_base) and for the control group without the overlap (control persons
    who are not beneficiaries). 'Total' in socio_economic_position_code: all positions.
    The cells and their persons are declared once, in
    socio_economic_position_by_quarter_persons; this counts them. -#}

with

persons as (

    select * from {{ ref('socio_economic_position_by_quarter_persons') }}

),

final as (

    select
        population_group,
        snapshot_quarter,
        socio_economic_position_code,
        count(distinct person_id) as n_persons
    from persons
    group by population_group, snapshot_quarter, socio_economic_position_code

)

select * from final
