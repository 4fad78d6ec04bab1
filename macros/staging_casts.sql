{#- Casting helpers for the all-text landing extracts. A value that does not cast
    becomes null in its typed column and is named in the row's `cast_problem`,
    so the row can be quarantined with its reason instead of silently losing data. -#}

{% macro parse_yes_no(column) -%}
    case upper(trim({{ column }}))
        when 'J' then true
        when 'N' then false
    end
{%- endmacro %}

{% macro cast_fails(column, data_type) -%}
    {%- if data_type == 'yes_no' -%}
        (nullif(trim({{ column }}), '') is not null and {{ parse_yes_no(column) }} is null)
    {%- else -%}
        (nullif(trim({{ column }}), '') is not null and {{ try_cast_value(column, data_type) }} is null)
    {%- endif -%}
{%- endmacro %}

{#- columns: {raw column: target type or 'yes_no'} -> 'col: value; col: value' or null -#}
{% macro cast_problems(columns) -%}
    {%- if columns | length == 0 -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        nullif(concat_ws('; '
        {%- for column, data_type in columns.items() %},
            case when {{ cast_fails(column, data_type) }} then '{{ column }}: ' || {{ column }} end
        {%- endfor %}
        ), '')
    {%- endif -%}
{%- endmacro %}

{#- Cast that yields null instead of failing (dbt.safe_cast falls back to a plain cast on DuckDB). -#}
{% macro try_cast_value(column, data_type) -%}
    {{ return(adapter.dispatch('try_cast_value', 'wse_impact')(column, data_type)) }}
{%- endmacro %}

{% macro duckdb__try_cast_value(column, data_type) -%}
    try_cast(trim({{ column }}) as {{ data_type }})
{%- endmacro %}

{% macro default__try_cast_value(column, data_type) -%}
    {{ dbt.safe_cast(column, data_type) }}
{%- endmacro %}
