{#- Classing driven by seeds/class_bounds.csv: each class is [lower_bound, upper_bound),
    an empty upper bound being open. A null becomes the explicit class 'unknown'; a value
    outside every class stops the build with the model, column and value instead of
    becoming null. The CASE is written out at compile time from the seed, so the rule
    lives in the seed only and the compiled SQL shows the classes. -#}

{% macro unknown_class() -%}'unknown'{%- endmacro %}

{% macro class_rows(scheme) %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {#- the seed's relation is looked up in the graph rather than through ref(), so that a
        unit test of a classing model compiles against the real seed; models that class
        declare `-- depends_on: ref('class_bounds')` for lineage -#}
    {%- set class_bounds = seed_relation('class_bounds') -%}
    {%- if target.name == 'lint' -%}
        {#- the compile-only lint target has no database: one placeholder class -#}
        {{ return([['lint', 0, none]]) }}
    {%- endif -%}
    {%- set query -%}
        select class_label, lower_bound, upper_bound
        from {{ class_bounds }}
        where class_scheme = '{{ scheme }}'
        order by class_order
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}
        {{ exceptions.raise_compiler_error("class scheme '" ~ scheme ~ "' has no rows in seed class_bounds") }}
    {%- endif -%}
    {{ return(rows) }}
{% endmacro %}

{#- Classes are contiguous (checked here at compile time), so each WHEN needs only the
    upper bound: the first class whose upper bound exceeds the value is its class. With
    as_enum the labels are the scheme's ENUM type (macros/enum_types.sql), so the class is
    produced in its stored form rather than as text cast afterwards. -#}
{% macro class_value(value, scheme, column_name, as_enum=false) -%}
    {%- set rows = class_rows(scheme) -%}
    {%- set outside = raise_value_error(
        "'" ~ this.identifier ~ "." ~ column_name ~ ": value ' || cast(" ~ value ~ " as " ~ dbt.type_string() ~ ") || ' lies outside every class of scheme " ~ scheme ~ "'"
    ) -%}
    {%- set label_type = '::' ~ class_enum_type(scheme) if as_enum else '' -%}
    {%- for row in rows[1:] if execute and target.name != 'lint' -%}
        {%- if rows[loop.index0][2] is none or rows[loop.index0][2] != row[1] -%}
            {{ exceptions.raise_compiler_error("class scheme '" ~ scheme ~ "' is not contiguous: '" ~ rows[loop.index0][0] ~ "' ends where '" ~ row[0] ~ "' does not start") }}
        {%- endif -%}
    {%- endfor -%}
    case
        when {{ value }} is null then {{ unknown_class() }}{{ label_type }}
        {%- if rows %}
        when {{ value }} < {{ rows[0][1] }} then {{ outside }}
        {%- endif %}
        {%- for row in rows %}
        {%- if row[2] is not none %}
        when {{ value }} < {{ row[2] }} then '{{ row[0] }}'{{ label_type }}
        {%- else %}
        else '{{ row[0] }}'{{ label_type }}
        {%- endif %}
        {%- endfor %}
        {%- if not rows or rows[-1][2] is not none %}
        else {{ outside }}
        {%- endif %}
    end
{%- endmacro %}

{#- Stop the query with a message (a varchar SQL expression). -#}
{% macro raise_value_error(message_sql) -%}
    {{ return(adapter.dispatch('raise_value_error', 'wse_impact')(message_sql)) }}
{%- endmacro %}

{% macro duckdb__raise_value_error(message_sql) -%}
    error({{ message_sql }})
{%- endmacro %}

{% macro default__raise_value_error(message_sql) -%}
    raise_error({{ message_sql }})
{%- endmacro %}

{#- The relation of a seed without ref(): from the graph, or, where a unit test hides the
    graph, from the seed location configured in dbt_project.yml (research db, `reference`). -#}
{% macro seed_relation(seed_name) %}
    {%- set nodes = graph.get('nodes', {}).values() | selectattr('resource_type', 'equalto', 'seed')
        | selectattr('name', 'equalto', seed_name) | list -%}
    {%- if nodes -%}
        {{ return(api.Relation.create(database=nodes[0].database, schema=nodes[0].schema, identifier=nodes[0].alias)) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=generate_database_name('wse_impact'), schema='reference', identifier=seed_name)) }}
{% endmacro %}
