-- No value in any column of any mart is a valid INSZ (11 digits with a correct check number).
{% set marts = ['beneficiary_base', 'control_base', 'beneficiary_measures'] %}
{% for mart in marts %}
    {% set relation = ref(mart) %}
    {% set columns = adapter.get_columns_in_relation(relation) if execute else [] %}
    {% for column in columns %}
select '{{ mart }}' as mart, '{{ column.name }}' as column_name, cast({{ column.name }} as varchar) as value
from {{ relation }}
where {{ is_valid_insz('cast(' ~ column.name ~ ' as varchar)') }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% if not loop.last and columns %}union all{% endif %}
{% endfor %}
{% if not execute %}select 1 where false{% endif %}
