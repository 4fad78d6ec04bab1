-- No value in any text, ENUM or integer column of any mart is a valid INSZ (11 digits with a
-- correct check number). Distinct values first: the marts are mostly low-cardinality codes.
{% set marts = ['beneficiary_base', 'control_base', 'beneficiary_measures'] %}
{% set checks = [] %}
{% for mart in marts %}
    {% set relation = ref(mart) %}
    {% for column in (adapter.get_columns_in_relation(relation) if execute else []) %}
        {% if column.dtype | lower in ['varchar', 'string', 'bigint', 'hugeint', 'ubigint'] or (column.dtype | lower).startswith('enum') %}
            {% do checks.append((mart, column.name, relation)) %}
        {% endif %}
    {% endfor %}
{% endfor %}
{% for mart, column_name, relation in checks %}
select
    '{{ mart }}' as mart,
    '{{ column_name }}' as column_name,
    candidate_values.value
from (
    -- distinct before the cast: on an ENUM or integer column that is far cheaper than the cast
    select cast(distinct_values.raw_value as {{ dbt.type_string() }}) as value
    from (select distinct {{ column_name }} as raw_value from {{ relation }}) as distinct_values
) as candidate_values
where length(candidate_values.value) = 11 and {{ is_valid_insz('candidate_values.value') }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% if not checks %}select null as mart, null as column_name, null as value where false{% endif %}
