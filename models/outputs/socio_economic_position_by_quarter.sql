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
        -- each row is a distinct person: a population holds a person once per quarter (the
        -- base files' key, tested before this model runs), and each cell takes one row of
        -- it; the release checks every count against its set of persons again. Counting
        -- rows needs no memory, where distinct persons held 18 million (person, cell) pairs
        -- at scale 1.0 and ran out of memory at scale 10.
        count(*) as n_persons
    from persons
    group by population_group, snapshot_quarter, socio_economic_position_code

)

select * from final
