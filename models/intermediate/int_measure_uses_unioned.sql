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
        * exclude ({{ measure.start }}{% if measure.end %}, {{ measure.end }}{% endif %})
    from {{ ref('stg_wse__' ~ measure_code) }}

),

{% endfor %}
unioned as (

    {% for measure_code in catalog %}
    select * from {{ measure_code }}
    {% if not loop.last %}{{ union_all_by_name() }}{% endif %}
    {% endfor %}

)

select * from unioned
