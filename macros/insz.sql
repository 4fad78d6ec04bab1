{#- True when `column` is a well-formed INSZ / BIS number: 11 digits whose check number
    equals 97 - (first 9 digits mod 97), the 9 digits being prefixed with 2 for births
    from 2000. Month may be 00-12, +20 or +40 for BIS numbers. -#}
{% macro is_valid_insz(column) -%}
    coalesce(
        {{ regexp_matches_fully(column, '[0-9]{11}') }}
        and try_cast(substr({{ column }}, 3, 2) as integer) % 20 <= 12
        and try_cast(substr({{ column }}, 3, 2) as integer) <= 52
        and (
            97 - try_cast(substr({{ column }}, 1, 9) as bigint) % 97 = try_cast(substr({{ column }}, 10, 2) as integer)
            or 97 - try_cast('2' || substr({{ column }}, 1, 9) as bigint) % 97 = try_cast(substr({{ column }}, 10, 2) as integer)
        ),
        false
    )
{%- endmacro %}

{#- The problem with an INSZ value, or null: missing, or malformed / failing its checksum. -#}
{% macro insz_problem(column) -%}
    case
        when nullif({{ column }}, '') is null then 'INSZ missing'
        when not {{ is_valid_insz(column) }} then 'INSZ malformed or failing its checksum'
    end
{%- endmacro %}

{#- True when `column` is a quarter YYYYQn within the study period (seed `quarters`). -#}
{% macro is_study_quarter(column) -%}
    coalesce({{ column }} in (select quarter from {{ ref('quarters') }}), false)
{%- endmacro %}

{#- The problem with a quarter value, or null: malformed, or outside 2014Q1-2022Q4. -#}
{% macro quarter_problem(column) -%}
    case
        when {{ column }} is null then null
        when not {{ regexp_matches_fully(column, '[0-9]{4}Q[1-4]') }} then '{{ column }} malformed: ' || {{ column }}
        when not {{ is_study_quarter(column) }} then '{{ column }} outside 2014Q1-2022Q4: ' || {{ column }}
    end
{%- endmacro %}
