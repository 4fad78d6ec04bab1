{#- The variables of both base files (beneficiary_base, control_base), declared once:
    pseudonym, quarter, and every warehouse variable in its classed or coded form. -#}
{% macro base_file_columns() %}
    {{ return([
        'person_id', 'snapshot_quarter', 'is_in_register',
        'sex_code', 'age_class', 'arrondissement_code', 'province_code', 'region_code',
        'urbanisation_code', 'origin_code', 'nationality_code', 'birth_country_code',
        'residence_years_class', 'education_level_code', 'is_low_work_intensity_household',
        'household_type_code', 'household_income_class',
        'seniority_class', 'nace_code', 'nace_section', 'joint_committee_code', 'work_regime_code',
        'days_worked_class', 'quarters_worked', 'part_time_pct', 'employee_class_code',
        'is_self_employed', 'employer_size_code', 'commute_distance_class', 'daily_wage_class',
        'gross_quarterly_wage_class',
        'socio_economic_position_code', 'position_group', 'additional_position_code',
        'job_seeker_category_code', 'has_recognised_disability', 'incapacity_pct_class',
        'incapacity_days_class',
    ]) }}
{% endmacro %}

{#- The code columns of the base files -> the type (seed list) of their values: a seed
    column whose meta names that enum_type (seeds/_seeds.yml). Stored as that ENUM on DuckDB
    (int_person_quarters_classed); checked by tests/singular/base_file_codes_are_seed_values.sql
    where there is no ENUM. -#}
{% macro base_file_code_types() %}
    {{ return({
    'snapshot_quarter': 'study_quarter',
    'sex_code': 'sex_code',
    'arrondissement_code': 'arrondissement_code',
    'province_code': 'province_code',
    'region_code': 'region_code',
    'urbanisation_code': 'urbanisation_code',
    'origin_code': 'origin_group_code',
    'nationality_code': 'origin_group_code',
    'birth_country_code': 'origin_group_code',
    'education_level_code': 'education_level_code',
    'household_type_code': 'household_type_code',
    'nace_section': 'nace_section',
    'joint_committee_code': 'joint_committee_code',
    'work_regime_code': 'work_regime_code',
    'employee_class_code': 'employee_class_code',
    'employer_size_code': 'employer_size_code',
    'socio_economic_position_code': 'socio_economic_position_code',
    'additional_position_code': 'additional_position_code',
    'job_seeker_category_code': 'job_seeker_category_code',
}) }}
{% endmacro %}

{#- The class columns of the base files -> their class scheme (seeds/class_bounds.csv). -#}
{% macro base_file_class_schemes() %}
    {{ return({
        'age_class': 'age_years',
        'residence_years_class': 'residence_years',
        'household_income_class': 'household_income_eur',
        'seniority_class': 'seniority_quarters',
        'days_worked_class': 'days_in_quarter',
        'commute_distance_class': 'commute_distance_km',
        'daily_wage_class': 'daily_wage_eur',
        'gross_quarterly_wage_class': 'gross_quarterly_wage_eur',
        'incapacity_pct_class': 'incapacity_pct',
        'incapacity_days_class': 'days_in_quarter',
    }) }}
{% endmacro %}
