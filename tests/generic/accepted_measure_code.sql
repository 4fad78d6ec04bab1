{#- Every non-null value is a code of this measure attribute in the `measure_codes` seed. -#}
{% test accepted_measure_code(model, column_name, measure_code, attribute) %}

select {{ column_name }} as unknown_code
from {{ model }}
where
    {{ column_name }} is not null
    and {{ column_name }} not in (
        select code
        from {{ ref('measure_codes') }}
        where measure_code = '{{ measure_code }}' and attribute = '{{ attribute }}'
    )

{% endtest %}
