{#- What the linkage needs to know of each measure extract, declared once:
    - start / end: the columns holding the measure's first and last quarter (end may be none);
    - amounts: exact-euro columns -> the class scheme (seeds/class_bounds.csv) fitted to that measure;
    - day_counts: exact day counts -> their class scheme;
    - codes: columns whose values must be codes of that measure in seeds/measure_codes.csv.
    Every other staging column (quarters, counts, flags) passes through unchanged. -#}
{% macro measure_catalog() %}
    {{ return({
        'vop': {'start': 'first_grant_quarter', 'end': 'last_grant_quarter',
                'amounts': {'total_amount_eur': 'amount_vop_total_eur'},
                'codes': ['allowance_type', 'dossier_type']},
        'doelgroepvermindering': {'start': 'first_grant_quarter', 'end': 'last_grant_quarter',
                'amounts': {'total_reduction_eur': 'amount_doelgroepvermindering_total_eur'},
                'codes': ['reduction_code']},
        'transitiepremie': {'start': 'first_receipt_quarter', 'end': none,
                'amounts': {'total_amount_eur': 'amount_transitiepremie_total_eur'},
                'codes': ['legal_form']},
        'vlaams_opleidingsverlof': {'start': 'approval_quarter', 'end': none,
                'codes': ['provider_registration_type']},
        'betaald_educatief_verlof': {'start': 'dossier_created_quarter', 'end': 'dossier_closed_quarter'},
        'duaal_leren': {'start': 'contract_start_quarter', 'end': 'contract_end_quarter',
                'codes': ['training_code', 'system_code']},
        'startbonus_stagebonus': {'start': 'first_payment_quarter', 'end': none,
                'amounts': {'total_amount_eur': 'amount_startbonus_stagebonus_total_eur'},
                'codes': ['internship_bonus_type']},
        'lokale_diensteneconomie': {'start': 'first_support_quarter', 'end': 'last_support_quarter',
                'amounts': {'subsidy_last_full_quarter_eur': 'amount_lokale_diensteneconomie_subsidy_eur'}},
        'maatwerk': {'start': 'first_support_quarter', 'end': 'last_support_quarter',
                'amounts': {'wage_guidance_premium_eur': 'amount_maatwerk_premium_eur',
                            'total_subsidy_eur': 'amount_maatwerk_subsidy_eur'},
                'codes': ['beneficiary_category']},
        'arbeidsmatige_activiteiten': {'start': 'first_support_quarter', 'end': 'last_support_quarter',
                'codes': ['care_type']},
        'opleidingscheques': {'start': 'first_request_quarter', 'end': 'last_request_quarter',
                'amounts': {'last_payment_eur': 'amount_opleidingscheques_payment_eur'}},
        'vlaams_zorgkrediet': {'start': 'start_quarter', 'end': 'end_quarter',
                'amounts': {'total_amount_eur': 'amount_vlaams_zorgkrediet_total_eur'},
                'day_counts': {'days_taken': 'care_credit_days'},
                'codes': ['motive']},
        'aanmoedigingspremie': {'start': 'approval_quarter', 'end': 'last_payment_quarter',
                'amounts': {'total_amount_eur': 'amount_aanmoedigingspremie_total_eur'},
                'codes': ['motive']},
        'aanwervingsincentive': {'start': 'last_payment_quarter', 'end': none,
                'amounts': {'total_amount_eur': 'amount_aanwervingsincentive_total_eur'},
                'codes': ['contract_type']},
        'outreach_activering': {'start': 'trajectory_start_quarter', 'end': 'trajectory_end_quarter',
                'codes': ['project_code']},
        'amif': {'start': 'trajectory_start_quarter', 'end': 'trajectory_end_quarter',
                'codes': ['project_code']},
    }) }}
{% endmacro %}

{#- Every code attribute used by some measure (for checks over the unioned extracts). -#}
{% macro measure_code_attributes() %}
    {%- set attributes = [] -%}
    {%- for measure in measure_catalog().values() -%}
        {%- for attribute in measure.get('codes', []) if attribute not in attributes -%}
            {%- do attributes.append(attribute) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(attributes | sort) }}
{% endmacro %}

{#- The exact amounts and day counts of all measures: classed, never shown. -#}
{% macro measure_exact_columns() %}
    {%- set columns = [] -%}
    {%- for measure in measure_catalog().values() -%}
        {%- for column in (measure.get('amounts', {}).keys() | list) + (measure.get('day_counts', {}).keys() | list) if column not in columns -%}
            {%- do columns.append(column) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(columns | sort) }}
{% endmacro %}

{#- The CTEs of int_measure_uses_unioned (one per measure) with their columns, for
    union_ctes_by_name: read from the staging relations only where the engine cannot align
    a union by name itself. -#}
{% macro measure_union_ctes() %}
    {%- set ctes = [] -%}
    {%- for measure_code, measure in measure_catalog().items() -%}
        {%- set columns = [] -%}
        {%- if not can_union_by_name() -%}
            {%- set own = [measure.start, measure.end] -%}
            {%- set columns = ['measure_code', 'start_quarter', 'end_quarter']
                + (relation_column_names(ref('stg_wse__' ~ measure_code)) | reject('in', own) | list) -%}
        {%- endif -%}
        {%- do ctes.append((measure_code, columns)) -%}
    {%- endfor -%}
    {{ return(ctes) }}
{% endmacro %}
