{#- Every line of every measure extract with all the reasons it cannot be used.
    Rows with no reason are accepted; the others go to the quarantine.
    Duplicates: of the rows of one person in one extract that are otherwise valid, the most
    recent use is kept (latest end quarter, else start quarter; then latest start quarter;
    then the later line of the file), and the others are quarantined. -#}
{%- set catalog = measure_catalog() -%}
{%- set columns = adapter.get_columns_in_relation(ref('int_measure_uses_unioned')) if execute else [] -%}
{%- set quarter_columns = [] -%}
{%- set amount_columns = [] -%}
{%- for column in columns -%}
    {%- if column.name.endswith('_quarter') -%}{%- do quarter_columns.append(column.name) -%}{%- endif -%}
    {%- if column.name.endswith('_eur') -%}{%- do amount_columns.append(column.name) -%}{%- endif -%}
{%- endfor %}
-- depends_on: {{ ref('quarters') }}

with

measure_uses as (

    select * from {{ ref('int_measure_uses_unioned') }}

),

measure_codes as (

    select * from {{ ref('measure_codes') }}

),

-- every known 'measure|attribute|code', in one row: a code check is a lookup in this list
-- (a correlated subquery per attribute is what Spark 4.3 fails to plan here)
known_codes as (

    select array_agg(measure_code || '|' || attribute || '|' || code) as code_keys
    from measure_codes

),

-- every check, null where it passes (the nulls are dropped in the next step: Spark allows no
-- subquery inside a higher-order function such as filter)
problem_candidates as (

    select
        measure_uses.*,
        -- a damaged line has no fields to check: its damage is its one reason
        case
            when measure_uses.line_problem is not null
                then {{ array_of(["'damaged line: ' || measure_uses.line_problem"]) }}
            else {% call array_of_items() %}
            {{ insz_problem('measure_uses.insz') }},
            case when measure_uses.start_quarter is null then 'start quarter missing' end,
            {%- for column in quarter_columns %}
            {{ quarter_problem('measure_uses.' ~ column) }},
            {%- endfor %}
            case
                when measure_uses.end_quarter < measure_uses.start_quarter
                    then 'end quarter ' || measure_uses.end_quarter || ' before start quarter ' || measure_uses.start_quarter
            end,
            case when measure_uses.cast_problem is not null then 'not a valid value: ' || measure_uses.cast_problem end,
            {%- for column in amount_columns %}
            case when measure_uses.{{ column }} < 0 then '{{ column }} negative: ' || measure_uses.{{ column }} end,
            {%- endfor %}
            {%- for attribute in measure_code_attributes() %}
            case
                when
                    measure_uses.{{ attribute }} is not null
                    and not array_contains(
                        known_codes.code_keys,
                        measure_uses.measure_code || '|{{ attribute }}|' || measure_uses.{{ attribute }}
                    )
                    then 'unknown {{ attribute }} for this measure: ' || measure_uses.{{ attribute }}
            end{% if not loop.last %},{% endif %}
            {%- endfor %}
            {% endcall %}
        end as candidate_problems
    from measure_uses
    cross join known_codes

),

row_problems as (

    select
        {{ star_except(['candidate_problems']) }},
        {{ array_without_nulls('candidate_problems') }} as problems
    from problem_candidates

),

ranked as (

    select
        *,
        row_number() over (
            partition by measure_code, insz, {{ array_length('problems') }} = 0
            order by
                coalesce(end_quarter, start_quarter) desc,
                start_quarter desc,
                source_line_number desc
        ) as use_rank,
        first_value(source_line_number) over (
            partition by measure_code, insz, {{ array_length('problems') }} = 0
            order by
                coalesce(end_quarter, start_quarter) desc,
                start_quarter desc,
                source_line_number desc
        ) as kept_line_number
    from row_problems

),

final as (

    select
        {{ star_except(['problems', 'use_rank', 'kept_line_number']) }},
        nullif({% call array_joined_with("'; '") %}
            case
                when {{ array_length('problems') }} = 0 and use_rank > 1
                    then {{ array_of(["'person twice in this extract: kept line ' || kept_line_number || ' (most recent use)'"]) }}
                else problems
            end
        {% endcall %}, '') as rejection_reasons
    from ranked

)

select
    *,
    rejection_reasons is null as is_accepted
from final
