{#- Column declarations, made once as column meta in the models' yml and read here (and by
    the Great Expectations suites, src/wse_impact/quality/, from dbt's manifest):

    - `codes: <seed>.<column>`: a code column takes its values from that seed column; it is
      stored as the seed column's ENUM type (its `enum_type` meta, macros/enum_types.sql).
    - `classes: {value: <raw column>, scheme: <class_bounds scheme>}`: a class column is the
      class of that raw column in that scheme (macros/classing.sql), stored as the scheme's
      ENUM type.
    - `range: [minimum, maximum]`: a raw value's accepted range (null: open).
    - `values_of: <seed>.<column>`: a column holds values of that seed column without its
      ENUM type (the study quarters of the measure extracts); read by the suites only.

    A model reads its own declarations by name through the graph. At parse time the graph
    has no columns yet and both macros return nothing; a unit test renders the model without
    the graph, so it gives the declarations it needs as macro overrides (held equal to the
    yml by tests/python/test_quality.py). -#}

{% macro model_columns(model_name) %}
    {%- set nodes = graph.get('nodes', {}).values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('name', 'equalto', model_name) | list -%}
    {{ return(nodes[0].columns if nodes else {}) }}
{% endmacro %}

{#- The seed column a `codes` declaration names, as (seed node, column name). -#}
{% macro code_seed_column(declaration, column_name) %}
    {%- set parts = declaration.split('.') -%}
    {%- set seeds = graph.get('nodes', {}).values() | selectattr('resource_type', 'equalto', 'seed')
        | selectattr('name', 'equalto', parts[0]) | list -%}
    {%- if parts | length != 2 or not seeds or parts[1] not in seeds[0].columns -%}
        {{ exceptions.raise_compiler_error("column " ~ column_name ~ ": codes '" ~ declaration ~ "' is not <seed>.<column> of a seed") }}
    {%- endif -%}
    {{ return(seeds[0].columns[parts[1]]) }}
{% endmacro %}

{#- column -> ENUM type name of every code column the model declares, in yml order. -#}
{% macro declared_code_types(model_name) %}
    {%- set types = {} -%}
    {%- for column in model_columns(model_name).values() if column.meta.get('codes') -%}
        {%- set seed_column = code_seed_column(column.meta['codes'], column.name) -%}
        {%- if not seed_column.meta.get('enum_type') -%}
            {{ exceptions.raise_compiler_error("column " ~ column.name ~ ": seed column " ~ column.meta['codes'] ~ " declares no enum_type") }}
        {%- endif -%}
        {%- do types.update({column.name: seed_column.meta['enum_type']}) -%}
    {%- endfor -%}
    {{ return(types) }}
{% endmacro %}

{#- [{column, value, scheme}] of every class column the model declares, in yml order. -#}
{% macro declared_class_columns(model_name) %}
    {%- set classes = [] -%}
    {%- for column in model_columns(model_name).values() if column.meta.get('classes') -%}
        {%- do classes.append({
            'column': column.name,
            'value': column.meta['classes']['value'],
            'scheme': column.meta['classes']['scheme'],
        }) -%}
    {%- endfor -%}
    {{ return(classes) }}
{% endmacro %}
