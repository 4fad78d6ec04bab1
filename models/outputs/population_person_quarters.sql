{#- The two populations the outputs compare, one row per person per quarter: the
    beneficiaries (every person of beneficiary_base) and the controls (the control persons
    who are not beneficiaries: the overlap counts once, as beneficiaries). -#}
{{ config(materialized='ephemeral', access='protected') }}

with

beneficiary_base as (

    select * from {{ ref('beneficiary_base') }}

),

control_base as (

    select * from {{ ref('control_base') }}

),

final as (

    select
        'beneficiaries' as population_group,
        {{ base_file_columns() | join(',\n        ') }}
    from beneficiary_base

    union all

    select
        'controls' as population_group,
        {{ base_file_columns() | join(',\n        ') }}
    from control_base
    where not is_beneficiary

)

select * from final
