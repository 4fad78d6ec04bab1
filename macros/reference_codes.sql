{#- The allowed codes of one measure attribute, read from the `measure_codes` seed at
    compile time, so that a code list is declared once (in the seed). -#}
{% macro measure_code_values(measure_code, attribute) -%}
    {%- if execute -%}
        {%- set query -%}
            select code from {{ ref('measure_codes') }}
            where measure_code = '{{ measure_code }}' and attribute = '{{ attribute }}'
            order by code
        {%- endset -%}
        {{- return(run_query(query).columns[0].values() | list) -}}
    {%- else -%}
        {{- return([]) -}}
    {%- endif -%}
{%- endmacro %}
