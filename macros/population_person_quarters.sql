{#- The two populations the outputs compare, one row per person per quarter, as one query:
    the beneficiaries (every person of beneficiary_base) and the controls (the control
    persons who are not beneficiaries: the overlap counts once, as beneficiaries). The
    ephemeral model population_person_quarters is this query; a model that reads the
    populations several times in one statement (employment_window_ctes) takes the query
    itself, so that DuckDB reads the base files again for each reader rather than holding
    every person-quarter in memory (an ephemeral model is one CTE, which DuckDB keeps whole
    when it is read more than once: 92 million rows at scale 10). -#}
{% macro population_person_quarters_query() %}

    select
        'beneficiaries' as population_group,
        {{ base_file_columns() | join(',\n        ') }}
    from {{ ref('beneficiary_base') }}

    union all

    select
        'controls' as population_group,
        {{ base_file_columns() | join(',\n        ') }}
    from {{ ref('control_base') }}
    where not is_beneficiary

{% endmacro %}
