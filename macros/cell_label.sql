{#- A code or class of the base files as text for an output cell, 'unknown' where null
    (an output adds labels such as 'Total' that are not in the type). -#}
{% macro cell_label(column) -%}
    coalesce(cast({{ column }} as {{ dbt.type_string() }}), {{ unknown_class() }})
{%- endmacro %}
