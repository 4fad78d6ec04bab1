{#- What the delivery record needs of the engine. -#}

{#- A file path as read (the snapshots' glob gives '<landing folder>/dwh/...') relative to
    the landing folder, as the delimited sources already give it. -#}
{% macro landing_relative_path(column) -%}
    {%- set prefix = env_var('WSE_LANDING_DIR', 'data/synthetic') ~ '/' -%}
    case
        when {{ text_starts_with(column, prefix) }} then substr({{ column }}, {{ prefix | length + 1 }})
        else {{ column }}
    end
{%- endmacro %}

{#- SHA-256 of a text, as 64 hex digits. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'wse_impact')(expression)) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{#- When this build started (UTC): the time every file of the delivery was read. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}
