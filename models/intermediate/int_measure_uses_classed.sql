{#- The accepted measure uses, with each exact amount (and day count) classed by the scheme
    fitted to that measure (measure_catalog(), seeds/class_bounds.csv). Raw and class sit
    side by side here; beneficiary_measures keeps only the class. -#}
{%- set classed = {} -%}
{%- for measure_code, measure in measure_catalog().items() -%}
{%- for column, scheme in (measure.get('amounts', {}).items() | list) + (measure.get('day_counts', {}).items() | list) -%}
{%- do classed.setdefault(column, {}).update({measure_code: scheme}) -%}
{%- endfor -%}
{%- endfor %}
-- depends_on: {{ ref('class_bounds') }}

with

measure_uses as (

    select * from {{ ref('int_measure_uses_checked') }}
    where is_accepted

),

final as (

    select
        -- line_problem and raw_line: null on every accepted row
        {{ star_except(['cast_problem', 'rejection_reasons', 'is_accepted', 'line_problem', 'raw_line'], 'measure_uses') }},
        {%- for column, schemes in classed.items() | sort %}
        {%- set class_column = column | replace('_eur', '') ~ '_class' %}
        case measure_uses.measure_code
            {%- for measure_code, scheme in schemes.items() | sort %}
            when '{{ measure_code }}' then {{ class_value('measure_uses.' ~ column, scheme, class_column) | indent(12) }}
            {%- endfor %}
        end as {{ class_column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from measure_uses

)

select * from final
