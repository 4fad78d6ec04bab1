{#- The quarter at which each beneficiary is described for a measure: the measure's first
    quarter (min start_quarter, beneficiary_measures' key is person and measure), within
    2014Q1-2022Q4; and, as measure_code 'Total', the person's earliest such quarter over all
    measures. Shared by the outputs that look at beneficiaries from the start of a measure. -#}
{{ config(materialized='ephemeral', access='protected') }}

with

beneficiary_measures as (

    select * from {{ ref('beneficiary_measures') }}

),

quarters as (

    select * from {{ ref('quarters') }}

),

per_measure as (

    select
        beneficiary_measures.person_id,
        beneficiary_measures.measure_code,
        quarters.quarter as first_quarter,
        quarters.quarter_index as first_quarter_index
    from beneficiary_measures
    inner join quarters
        on beneficiary_measures.start_quarter = quarters.quarter

),

all_measures as (

    select
        person_id,
        'Total' as measure_code,
        min_by(first_quarter, first_quarter_index) as first_quarter,
        min(first_quarter_index) as first_quarter_index
    from per_measure
    group by person_id

),

final as (

    select * from per_measure
    union all
    select * from all_measures

)

select * from final
