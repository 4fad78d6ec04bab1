{#- All 16 measure extracts in one relation: each staging model's own columns, aligned by
    name (a column a measure lacks is null), plus the measure and its common start and end
    quarters as declared in measure_catalog(). -#}
{%- set catalog = measure_catalog() -%}

with

{% for measure_code, measure in catalog.items() %}
{{ measure_code }} as (

    select
        '{{ measure_code }}' as measure_code,
        {{ measure.start }} as start_quarter,
        {% if measure.end %}{{ measure.end }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as end_quarter,
        *
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
