{#- The link INSZ -> person_id: a unique, meaningless sequence number 1..N assigned in the
    order of a keyed hash (HMAC-SHA256) of the INSZ. The key (WSE_PSEUDONYM_KEY) is read by
    the project's dbt-duckdb plugin, never written in SQL, so without it the order reveals
    nothing about the INSZ, the birth date or the sex. One person has one person_id in both
    base files. This table stays in the restricted database. -#}

with

study_persons as (

    select * from {{ ref('int_study_persons') }}

),

final as (

    select
        cast(row_number() over (order by wse_keyed_hash(insz), insz) as bigint) as person_id,
        insz,
        is_beneficiary,
        is_control,
        beneficiary_measure_codes
    from study_persons

)

select * from final
