with

source as (

    select * from {{ source('dwh', 'snapshots') }}

),

renamed as (

    select
        -- ids
        insz,
        quarter as snapshot_quarter,
        -- codes
        geslacht as sex_code,
        nis_arrondissement as arrondissement_code,
        urbanisatiegraad as urbanisation_code,
        herkomst as origin_code,
        nationaliteit as nationality_code,
        geboorteland as birth_country_code,
        onderwijsniveau as education_level_code,
        gezinstype as household_type_code,
        nace_code,
        paritair_comite as joint_committee_code,
        arbeidsregime as work_regime_code,
        werknemersklasse as employee_class_code,
        dimensiecode_werkgever as employer_size_code,
        socio_economische_positie as socio_economic_position_code,
        bijkomende_positie as additional_position_code,
        categorie_werkzoekende as job_seeker_category_code,
        -- numerics
        jaren_verblijf_belgie as residence_years,
        gezinsinkomen as household_income_eur,
        ancienniteit_kwartalen as seniority_quarters,
        dagen_tewerkstelling as days_worked,
        kwartalen_tewerkstelling as quarters_worked,
        percentage_deeltijds as part_time_pct,
        afstand_woon_werk_km as commute_distance_km,
        dagloon as daily_wage_eur,
        brutoloon_kwartaal as gross_quarterly_wage_eur,
        percentage_arbeidsongeschiktheid as incapacity_pct,
        dagen_arbeidsongeschiktheid as incapacity_days,
        -- booleans
        lage_werkintensiteit as is_low_work_intensity_household,
        zelfstandige as is_self_employed,
        erkende_invaliditeit as has_recognised_disability,
        -- dates
        geboortedatum as birth_date,
        -- lineage
        filename as source_file,
        file_row_number + 1 as source_row_number
    from source

)

select * from renamed
