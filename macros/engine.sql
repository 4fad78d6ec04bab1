{#- What the SQL of this project needs that DuckDB and Spark SQL spell differently, each
    behind adapter.dispatch: `duckdb__` is the DuckDB form the project was written in,
    `default__` the form Spark SQL 4.x accepts (dbt-spark, `spark` target). Everything else
    in the models is written once, in SQL both engines accept (min_by, array_agg,
    array_contains, range(a, b) as t (c), named windows, concat_ws, try_cast). -#}

{#- `relation.* exclude (columns)`: every column of a relation but these. -#}
{% macro star_except(columns, relation=none) -%}
    {{ return(adapter.dispatch('star_except', 'wse_impact')(columns, relation)) }}
{%- endmacro %}

{% macro duckdb__star_except(columns, relation) -%}
    {%- if relation -%}
        {{ relation }}.* exclude ({% for column in columns %}{{ relation }}.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
    {%- else -%}
        * exclude ({{ columns | join(', ') }})
    {%- endif -%}
{%- endmacro %}

{% macro default__star_except(columns, relation) -%}
    {% if relation %}{{ relation }}.{% endif %}* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- An array literal of SQL expressions. -#}
{% macro array_of(items) -%}
    {{ return(adapter.dispatch('array_of', 'wse_impact')(items)) }}
{%- endmacro %}

{% macro duckdb__array_of(items) -%}
    [{{ items | join(', ') }}]
{%- endmacro %}

{% macro default__array_of(items) -%}
    array({{ items | join(', ') }})
{%- endmacro %}

{#- The elements of an array that are not null (`filter` with a lambda: both engines). -#}
{% macro array_without_nulls(array_sql) -%}
    filter({{ array_sql }}, reason -> reason is not null)
{%- endmacro %}

{#- The number of elements of an array. -#}
{% macro array_length(array_sql) -%}
    {{ return(adapter.dispatch('array_length', 'wse_impact')(array_sql)) }}
{%- endmacro %}

{% macro duckdb__array_length(array_sql) -%}
    len({{ array_sql }})
{%- endmacro %}

{% macro default__array_length(array_sql) -%}
    size({{ array_sql }})
{%- endmacro %}

{#- The elements of an array of text joined by a separator. -#}
{% macro array_joined(array_sql, separator) -%}
    {{ return(adapter.dispatch('array_joined', 'wse_impact')(array_sql, separator)) }}
{%- endmacro %}

{% macro duckdb__array_joined(array_sql, separator) -%}
    array_to_string({{ array_sql }}, {{ separator }})
{%- endmacro %}

{% macro default__array_joined(array_sql, separator) -%}
    array_join({{ array_sql }}, {{ separator }})
{%- endmacro %}

{#- Aggregate: the texts of a group joined by a separator, sorted by `order_by`. On Spark
    the texts themselves are sorted: callers pass texts that sort as their order_by does
    (the text itself, or texts that start with it). -#}
{% macro sorted_string_agg(expression, separator, order_by, distinct=false) -%}
    {{ return(adapter.dispatch('sorted_string_agg', 'wse_impact')(expression, separator, order_by, distinct)) }}
{%- endmacro %}

{% macro duckdb__sorted_string_agg(expression, separator, order_by, distinct) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}

{% macro default__sorted_string_agg(expression, separator, order_by, distinct) -%}
    array_join(array_sort({{ 'collect_set' if distinct else 'collect_list' }}({{ expression }})), {{ separator }})
{%- endmacro %}

{#- A struct value (compared and ordered field by field). fields: [(name, sql), ...]. -#}
{#- A 64-bit hash of several columns: a narrow key to count by, where equal hashes are then
    checked on the columns themselves (a hash says nothing certain on its own). -#}
{% macro hash_of(columns) -%}
    {{ return(adapter.dispatch('hash_of', 'wse_impact')(columns)) }}
{%- endmacro %}

{% macro duckdb__hash_of(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro default__hash_of(columns) -%}
    xxhash64({{ columns | join(', ') }})
{%- endmacro %}

{#- A set of small numbers (0-62) as the bits of one BIGINT: bit_flag(i) is the set {i}, to
    be combined with the bit_or aggregate; has_bit_flag tests membership. A person's
    quarters in the register take 8 bytes this way instead of a list. -#}
{% macro bit_flag(index) -%}
    {{ return(adapter.dispatch('bit_flag', 'wse_impact')(index)) }}
{%- endmacro %}

{% macro duckdb__bit_flag(index) -%}
    (cast(1 as bigint) << {{ index }})
{%- endmacro %}

{% macro default__bit_flag(index) -%}
    shiftleft(cast(1 as bigint), {{ index }})
{%- endmacro %}

{% macro has_bit_flag(flags, index) -%}
    {{ return(adapter.dispatch('has_bit_flag', 'wse_impact')(flags, index)) }}
{%- endmacro %}

{% macro duckdb__has_bit_flag(flags, index) -%}
    ((({{ flags }}) >> {{ index }}) & 1) = 1
{%- endmacro %}

{% macro default__has_bit_flag(flags, index) -%}
    (shiftright({{ flags }}, {{ index }}) & 1) = 1
{%- endmacro %}

{#- Aggregate: the second largest value of a group (the largest again when it occurs
    twice; null below two values), without ordering every row of the group. -#}
{% macro second_largest(expression) -%}
    {{ return(adapter.dispatch('second_largest', 'wse_impact')(expression)) }}
{%- endmacro %}

{% macro duckdb__second_largest(expression) -%}
    max({{ expression }}, 2)[2]
{%- endmacro %}

{% macro default__second_largest(expression) -%}
    try_element_at(sort_array(collect_list({{ expression }}), false), 2)
{%- endmacro %}

{% macro struct_of(fields) -%}
    {{ return(adapter.dispatch('struct_of', 'wse_impact')(fields)) }}
{%- endmacro %}

{% macro duckdb__struct_of(fields) -%}
    { {% for name, sql in fields %}'{{ name }}': {{ sql }}{{ ', ' if not loop.last }}{% endfor %} }
{%- endmacro %}

{% macro default__struct_of(fields) -%}
    named_struct({% for name, sql in fields %}'{{ name }}', {{ sql }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- True when the whole text matches the regular expression. -#}
{% macro regexp_matches_fully(column, pattern) -%}
    {{ return(adapter.dispatch('regexp_matches_fully', 'wse_impact')(column, pattern)) }}
{%- endmacro %}

{% macro duckdb__regexp_matches_fully(column, pattern) -%}
    regexp_full_match({{ column }}, '{{ pattern }}')
{%- endmacro %}

{#- Java regular expressions: `$` also matches before a final line break ('2016Q3' + a line
    break, from a quoted field, would pass), `\z` only at the very end. -#}
{% macro default__regexp_matches_fully(column, pattern) -%}
    ({{ column }} rlike '^(?:{{ pattern }})\\z')
{%- endmacro %}

{#- True when a text starts with a constant prefix (plain SQL: both engines). -#}
{% macro text_starts_with(column, prefix) -%}
    (substr({{ column }}, 1, {{ prefix | length }}) = '{{ prefix }}')
{%- endmacro %}

{#- Complete years from `birth_date` to `at_date`, one formula for both engines (someone
    born on 29 February turns a year older on 1 March in common years; DuckDB's own
    date_sub would say 28 February, so it is not used). -#}
{% macro age_in_years(birth_date, at_date) -%}
    (
        year({{ at_date }}) - year({{ birth_date }})
        - case
            when month({{ at_date }}) * 100 + day({{ at_date }}) < month({{ birth_date }}) * 100 + day({{ birth_date }})
                then 1
            else 0
        end
    )
{%- endmacro %}

{#- `as` of a CTE that the engine should inline rather than compute once. -#}
{% macro cte_as_not_materialized() -%}
    {{ return(adapter.dispatch('cte_as_not_materialized', 'wse_impact')()) }}
{%- endmacro %}

{% macro duckdb__cte_as_not_materialized() -%}
    as not materialized
{%- endmacro %}

{% macro default__cte_as_not_materialized() -%}
    as
{%- endmacro %}

{#- A model's pre-hook: DuckDB gives up the blocks it keeps in memory from earlier models
    (clean copies of what is on disk) before the model runs. DuckDB counts them as used when
    it decides how much memory a join or an aggregate may have, so a full cache made
    employment_around_measure spill 1 GB and take 5.2 s at scale 1.0, against no spill and
    2.9 s with the cache given up (1.25 GB limit; issue 23). Lowering the limit for a moment
    is how DuckDB evicts on demand; the limit is then set again to what the project's
    plugin set (wse_memory_limit(), engines/duckdb_plugin.py). -#}
{% macro release_cached_blocks() -%}
    {{ return(adapter.dispatch('release_cached_blocks', 'wse_impact')()) }}
{%- endmacro %}

{% macro duckdb__release_cached_blocks() -%}
    set memory_limit = '64MB';
    set memory_limit = wse_memory_limit()
{%- endmacro %}

{% macro default__release_cached_blocks() -%}
{%- endmacro %}

{#- Hooks around a large write: DuckDB need not keep row order there (it must in staging).
    Nothing to do on Spark, which keeps no insertion order. -#}
{% macro unordered_writes_begin() -%}
    {{ return(adapter.dispatch('unordered_writes_begin', 'wse_impact')()) }}
{%- endmacro %}

{% macro duckdb__unordered_writes_begin() -%}
    set preserve_insertion_order = false
{%- endmacro %}

{% macro default__unordered_writes_begin() -%}
{%- endmacro %}

{% macro unordered_writes_end() -%}
    {{ return(adapter.dispatch('unordered_writes_end', 'wse_impact')()) }}
{%- endmacro %}

{% macro duckdb__unordered_writes_end() -%}
    reset preserve_insertion_order
{%- endmacro %}

{% macro default__unordered_writes_end() -%}
{%- endmacro %}

{#- UNION ALL of CTEs aligned by column name, a column a CTE lacks being null.
    ctes: [(cte name, [its columns in order]), ...]. DuckDB aligns by name itself; elsewhere
    the select lists are written out from the columns given. -#}
{% macro union_ctes_by_name(ctes) -%}
    {{ return(adapter.dispatch('union_ctes_by_name', 'wse_impact')(ctes)) }}
{%- endmacro %}

{% macro duckdb__union_ctes_by_name(ctes) -%}
    {%- for name, columns in ctes %}
    select * from {{ name }}
    {% if not loop.last %}union all by name{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro default__union_ctes_by_name(ctes) -%}
    {%- set all_columns = [] -%}
    {%- for name, columns in ctes -%}
        {%- for column in columns if column | lower not in all_columns -%}
            {%- do all_columns.append(column | lower) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for name, columns in ctes %}
    {%- set present = columns | map('lower') | list %}
    select
        {% for column in all_columns -%}
        {% if column in present %}{{ column }}{% else %}null as {{ column }}{% endif %}{{ ',' if not loop.last }}
        {% endfor -%}
    from {{ name }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Every row of CTE `first`, then every row of CTE `second`, whose columns `second_columns`
    are all columns of `first`; `first`'s other columns are null for `second`'s rows, typed as
    in `first`. No column list of `first` is needed (a unit test has none): DuckDB aligns by
    name; elsewhere `second_columns` come first, then `first`'s other columns in its order,
    and `second`'s rows take those from an empty copy of `first`. -#}
{% macro union_all_filling_nulls(first, second, second_columns) -%}
    {{ return(adapter.dispatch('union_all_filling_nulls', 'wse_impact')(first, second, second_columns)) }}
{%- endmacro %}

{% macro duckdb__union_all_filling_nulls(first, second, second_columns) -%}
    select * from {{ first }}
    union all by name
    select * from {{ second }}
{%- endmacro %}

{% macro default__union_all_filling_nulls(first, second, second_columns) -%}
    select
        {{ second_columns | join(', ') }},
        {{ star_except(second_columns, first) }}
    from {{ first }}
    union all
    select
        {{ second }}.*,
        {{ star_except(second_columns, 'empty_' ~ first) }}
    from {{ second }}
    left join (select * from {{ first }} where false) as empty_{{ first }}
        on false
{%- endmacro %}

{#- The column names of a relation, lower case (for union_ctes_by_name). -#}
{% macro relation_column_names(relation) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}

{#- Call-block forms, for long item lists written out in a model:
    `{% call array_of_items() %} a, b, c {% endcall %}` and
    `{% call array_joined_with("'; '") %} <array> {% endcall %}`. -#}
{% macro array_of_items() -%}
    {{ array_of([caller()]) }}
{%- endmacro %}

{% macro array_joined_with(separator) -%}
    {{ array_joined(caller(), separator) }}
{%- endmacro %}

{#- `relation.*` with the code columns stored as the seeds' ENUM types (DuckDB); where
    there is no ENUM the codes stay text and the seeds' lists are enforced by tests. -#}
{% macro star_with_enum_codes(relation, code_types) -%}
    {{ return(adapter.dispatch('star_with_enum_codes', 'wse_impact')(relation, code_types)) }}
{%- endmacro %}

{% macro duckdb__star_with_enum_codes(relation, code_types) -%}
    {{ relation }}.* replace (
        {% for column, type_name in code_types.items() -%}
        cast({{ relation }}.{{ column }} as {{ enum_type(type_name) }}) as {{ column }}{{ ',' if not loop.last }}
        {% endfor -%}
    )
{%- endmacro %}

{% macro default__star_with_enum_codes(relation, code_types) -%}
    {{ relation }}.*
{%- endmacro %}

{#- Whether `union all by name` exists (DuckDB). -#}
{% macro can_union_by_name() -%}
    {{ return(adapter.dispatch('can_union_by_name', 'wse_impact')()) }}
{%- endmacro %}

{% macro duckdb__can_union_by_name() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro default__can_union_by_name() -%}
    {{ return(false) }}
{%- endmacro %}

{#- A 64-bit float. dbt.type_float() is a 32-bit FLOAT on DuckDB and Spark alike, and the
    two engines round float32 arithmetic at different steps (DuckDB divides FLOAT by BIGINT
    in float32, Spark in double): the weighted control shares then differed in the 9th
    digit. In double both agree to the last bits but the summation order. -#}
{% macro type_double() -%}
    double
{%- endmacro %}
