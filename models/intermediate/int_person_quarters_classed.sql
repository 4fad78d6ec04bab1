{#- The balanced panel: every study person x every quarter 2014Q1-2022Q4, with the
    warehouse situation where the person is in the register and an explicit 'not in
    register' position where not. Raw values and their classes sit side by side here
    (restricted); the marts keep only the classes and codes. Sex and birth date are fixed
    per person, so sex and age class are known in every quarter. -#}
{#- A table, built once for both base files, which are then copies of their own persons'
    rows. Codes and classes are stored as the ENUM types made from the seeds, which keeps
    this and the marts' wide writes cheap (see macros/enum_types.sql). -#}
{{ config(
    materialized='table',
    pre_hook="{{ unordered_writes_begin() }}",
    post_hook="{{ unordered_writes_end() }}",
) }}
-- the seeds whose ENUM types the codes are stored as:
-- depends_on: {{ ref('class_bounds') }}, {{ ref('sexes') }}, {{ ref('arrondissements') }}, {{ ref('provinces') }}
-- depends_on: {{ ref('regions') }}, {{ ref('urbanisation_degrees') }}, {{ ref('origin_groups') }}
-- depends_on: {{ ref('education_levels') }}, {{ ref('household_types') }}, {{ ref('joint_committees') }}
-- depends_on: {{ ref('work_regimes') }}, {{ ref('employee_classes') }}, {{ ref('employer_size_classes') }}
-- depends_on: {{ ref('additional_positions') }}, {{ ref('job_seeker_categories') }}
{#- Which columns are codes (cast to their seed's ENUM type) and which are classes (of which
    raw column, in which class scheme) is declared once, as column meta in
    _intermediate__models.yml (macros/column_declarations.sql). -#}
{%- set code_types = declared_code_types('int_person_quarters_classed') %}
{%- set class_columns = declared_class_columns('int_person_quarters_classed') %}
{%- set in_register_excluded = [
    'person_id', 'is_beneficiary', 'is_control', 'beneficiary_measure_codes',
    'insz', 'sex_code', 'birth_date', 'source_file', 'source_row_number', 'rejection_reasons', 'is_accepted',
] %}
{#- out_of_register's rows take in_register's other columns as nulls (macros/engine.sql,
    union_all_filling_nulls) #}

with

persons as (

    select * from {{ ref('int_persons_pseudonymised') }}

),

quarters as (

    select * from {{ ref('quarters') }}

),

geography as (

    select * from {{ ref('int_arrondissements_rolled_up') }}

),

nace_sections as (

    select * from {{ ref('nace_sections') }}

),

positions as (

    select * from {{ ref('socio_economic_positions') }}

),

nace_divisions as (

    -- the section of each 2-digit division, so that snapshots join on equality
    select
        division.division_number,
        nace_sections.nace_section
    from range(1, 100) as division (division_number)
    inner join nace_sections
        on division.division_number between nace_sections.first_division and nace_sections.last_division

),

-- Not materialised: register_keys and in_register each read it again, narrow and wide, so
-- that no CTE holds every column of every snapshot row.
accepted_rows {{ cte_as_not_materialized() }} (

    select
        persons.person_id,
        persons.is_beneficiary,
        persons.is_control,
        persons.beneficiary_measure_codes,
        snapshots.*
    from {{ ref('int_snapshots_checked') }} as snapshots
    inner join persons
        on snapshots.insz = persons.insz
    where snapshots.is_accepted

),

register_keys as (

    -- what is fixed per person and which quarters exist
    select
        accepted_rows.person_id,
        accepted_rows.snapshot_quarter,
        quarters.quarter_index,
        accepted_rows.sex_code,
        accepted_rows.birth_date
    from accepted_rows
    inner join quarters
        on accepted_rows.snapshot_quarter = quarters.quarter

),

person_register as (

    -- sex and birth date are taken from the person's first quarter in the register
    select
        person_id,
        min_by(sex_code, quarter_index) as fixed_sex_code,
        min_by(birth_date, quarter_index) as fixed_birth_date,
        -- the quarters in the register, one bit each (8 bytes a person, where a list of
        -- quarters did not fit in 1.5 GB at scale 10)
        bit_or({{ bit_flag('quarter_index') }}) as register_quarter_flags
    from register_keys
    group by person_id

),

in_register as (

    select
        person_id,
        is_beneficiary,
        is_control,
        beneficiary_measure_codes,
        true as is_in_register,
        {{ star_except(in_register_excluded) }}
    from accepted_rows

),

out_of_register as (

    -- the quarters missing from a person's register quarters (all 36 for a person with none)
    select
        persons.person_id,
        persons.is_beneficiary,
        persons.is_control,
        persons.beneficiary_measure_codes,
        false as is_in_register,
        quarters.quarter as snapshot_quarter
    from persons
    left join person_register
        on persons.person_id = person_register.person_id
    cross join quarters
    where not coalesce({{ has_bit_flag('person_register.register_quarter_flags', 'quarters.quarter_index') }}, false)

),

panel as (

    {{ union_all_filling_nulls('in_register', 'out_of_register', [
        'person_id', 'is_beneficiary', 'is_control', 'beneficiary_measure_codes', 'is_in_register', 'snapshot_quarter',
    ]) }}

),

joined as (

    select
        {{ star_except(['socio_economic_position_code'], 'panel') }},
        person_register.fixed_sex_code as sex_code,
        {{ age_in_years('person_register.fixed_birth_date', 'quarters.last_day') }} as age_years,
        geography.province_code,
        geography.region_code,
        nace_divisions.nace_section,
        coalesce(panel.socio_economic_position_code, '0.0') as socio_economic_position_code,
        positions.position_group
    from panel
    inner join quarters
        on panel.snapshot_quarter = quarters.quarter
    left join person_register
        on panel.person_id = person_register.person_id
    left join geography
        on panel.arrondissement_code = geography.arrondissement_code
    left join nace_divisions
        on try_cast(substr(panel.nace_code, 1, 2) as integer) = nace_divisions.division_number
    left join positions
        on coalesce(panel.socio_economic_position_code, '0.0') = positions.socio_economic_position_code

),

final as (

    select
        {%- for class_column in class_columns %}
        {%- set class_sql = class_value(
            'joined.' ~ class_column.value, class_column.scheme, class_column.column, as_enum=true
        ) %}
        {{ class_sql }} as {{ class_column.column }},
        {%- endfor %}
        {{ star_with_enum_codes('joined', code_types) | indent(8) }}
    from joined

)

select * from final
