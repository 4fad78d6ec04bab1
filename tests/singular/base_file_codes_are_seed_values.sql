{#- Every code and class value of the base files is in its seed's list: a code in the seed
    column whose meta names its type, a class among its scheme's labels in class_bounds or
    'unknown'. On DuckDB the columns are ENUM types made from the same lists, so a value
    outside them cannot be stored and this test is not needed there; on Spark (no ENUM) it
    is the guarantee. Distinct values first: the columns are low-cardinality. -#}
{{ config(enabled=(target.type != 'duckdb')) }}
-- depends_on: {{ ref('beneficiary_base') }}, {{ ref('control_base') }}, {{ ref('class_bounds') }}
-- depends_on: {{ ref('additional_positions') }}, {{ ref('arrondissements') }}, {{ ref('education_levels') }}
-- depends_on: {{ ref('employee_classes') }}, {{ ref('employer_size_classes') }}, {{ ref('household_types') }}
-- depends_on: {{ ref('job_seeker_categories') }}, {{ ref('joint_committees') }}, {{ ref('nace_sections') }}
-- depends_on: {{ ref('origin_groups') }}, {{ ref('provinces') }}, {{ ref('quarters') }}, {{ ref('regions') }}
-- depends_on: {{ ref('sexes') }}, {{ ref('socio_economic_positions') }}, {{ ref('urbanisation_degrees') }}
-- depends_on: {{ ref('work_regimes') }}
{#- the panel's declarations (column meta in _intermediate__models.yml), as the panel's
    casts and the Great Expectations suites read them; the base files are copies of its
    columns (base_file_columns) -#}
{%- set base_columns = base_file_columns() -%}
{%- set checks = [] -%}
{%- for base_file in (['beneficiary_base', 'control_base'] if execute else []) -%}
    {%- for column in model_columns('int_person_quarters_classed').values()
        if column.meta.get('codes') and column.name in base_columns -%}
        {%- set seed_name, seed_column = column.meta['codes'].split('.') -%}
        {%- do checks.append((base_file, column.name,
            "select " ~ seed_column ~ " from " ~ ref(seed_name))) -%}
    {%- endfor -%}
    {%- for class_column in declared_class_columns('int_person_quarters_classed')
        if class_column.column in base_columns -%}
        {%- do checks.append((base_file, class_column.column,
            "select class_label from " ~ ref('class_bounds') ~ " where class_scheme = '" ~ class_column.scheme
            ~ "' union all select " ~ unknown_class())) -%}
    {%- endfor -%}
{%- endfor %}

{% for base_file, column, allowed in checks %}
select
    '{{ base_file }}' as base_file,
    '{{ column }}' as column_name,
    distinct_values.value
from (select distinct cast({{ column }} as {{ dbt.type_string() }}) as value from {{ ref(base_file) }}) as distinct_values
where distinct_values.value is not null and distinct_values.value not in ({{ allowed }})
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% if not checks %}select null as base_file, null as column_name, null as value where false{% endif %}
