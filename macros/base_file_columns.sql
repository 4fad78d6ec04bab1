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
