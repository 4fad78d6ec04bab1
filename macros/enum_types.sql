{#- Code lists and class labels as DuckDB ENUM types, made from the seeds as they load and
    kept with them (research database, schema `reference`).

    Why: the base files hold ~9 million person-quarters of about thirty code and class
    columns. Stored as ENUMs they are written several times faster than as text (one byte
    per value instead of a string), a value outside the seed's list cannot be stored, and
    classes sort in their own order (age '5-9' before '10-14') rather than as text.
    DuckDB resolves a named ENUM to its list of values when a table is created, so replacing
    a type when its seed reloads leaves tables built earlier untouched.

    A seed column gets a type through its `meta: {enum_type: <type name>}` (the values are
    the column's distinct values, sorted); class_bounds gets one type per class scheme,
    `<scheme>_class`, in class_order and ending with 'unknown'. -#}

{#- The qualified name of an ENUM type made from the seeds. -#}
{% macro enum_type(type_name) -%}
    {{ return(adapter.dispatch('enum_type', 'wse_impact')(type_name)) }}
{%- endmacro %}

{#- Spark has no ENUM: codes and classes are text, their lists enforced by tests
    (tests/singular/base_file_codes_are_seed_values.sql). -#}
{% macro default__enum_type(type_name) -%}
    {{ dbt.type_string() }}
{%- endmacro %}

{% macro duckdb__enum_type(type_name) -%}
    {%- set seeds_home = seed_relation('class_bounds') -%}
    {%- if target.name == 'lint' -%}
        {#- sqlfluff's DuckDB dialect does not parse a catalog-qualified type name -#}
        {{ type_name }}
    {%- else -%}
        {{ seeds_home.database }}.{{ seeds_home.schema }}.{{ type_name }}
    {%- endif -%}
{%- endmacro %}

{#- The type of a class scheme's labels. -#}
{% macro class_enum_type(scheme) -%}
    {{ enum_type(scheme ~ '_class') }}
{%- endmacro %}

{#- Seed post-hook: one ENUM type per column of this seed whose meta names an enum_type. -#}
{% macro create_seed_enum_types() %}
    {%- set statements = [] -%}
    {%- if target.type != 'duckdb' -%}
        {{ return('') }}
    {%- endif -%}
    {%- for column in model.columns.values() if column.meta.get('enum_type') -%}
        {%- do statements.append(
            "create or replace type " ~ enum_type(column.meta['enum_type']) ~ " as enum ("
            ~ "select distinct " ~ column.name ~ " from " ~ this ~ " where " ~ column.name ~ " is not null order by 1)"
        ) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}

{#- class_bounds post-hook: one ENUM type per class scheme, its labels in class order and
    then the explicit unknown class. -#}
{% macro create_class_enum_types() %}
    {%- if not execute or target.type != 'duckdb' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set schemes = run_query("select distinct class_scheme from " ~ this ~ " order by 1").columns[0].values() -%}
    {%- set statements = [] -%}
    {%- for scheme in schemes -%}
        {%- do statements.append(
            "create or replace type " ~ class_enum_type(scheme) ~ " as enum ("
            ~ "select class_label from (select class_label, class_order from " ~ this
            ~ " where class_scheme = '" ~ scheme ~ "' union all select " ~ unknown_class()
            ~ ", null) order by class_order nulls last)"
        ) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{% endmacro %}
