{#- The two populations the outputs compare, one row per person per quarter: the
    beneficiaries (every person of beneficiary_base) and the controls (the control persons
    who are not beneficiaries: the overlap counts once, as beneficiaries). Declared once, in
    macros/population_person_quarters.sql. -#}
{{ config(materialized='ephemeral', access='protected') }}

{{ population_person_quarters_query() }}
