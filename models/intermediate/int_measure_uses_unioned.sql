{#- All 16 measure extracts in one relation, aligned by name (a column a measure lacks is
    null). Each measure's own first and last quarter columns, as declared in
    measure_catalog(), become the common start_quarter and end_quarter. -#}
{%- set catalog = measure_catalog() -%}

with

{% for measure_code, measure in catalog.items() %}
{{ measure_code }} as (

    select
        '{{ measure_code }}' as measure_code,
        {{ measure.start }} as start_quarter,  -- noqa: AL09
        {% if measure.end %}{{ measure.end }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as end_quarter,
        {{ star_except([measure.start] + ([measure.end] if measure.end else [])) }}
    from {{ ref('stg_wse__' ~ measure_code) }}

),

{% endfor %}
unioned as (

    {{ union_ctes_by_name(measure_union_ctes()) | indent(4) }}

)

select * from unioned
