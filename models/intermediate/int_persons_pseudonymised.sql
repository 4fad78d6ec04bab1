{#- The link INSZ -> person_id: a unique, meaningless sequence number 1..N assigned in the
    order of a keyed hash (HMAC-SHA256) of the INSZ. The key (WSE_PSEUDONYM_KEY) is read by
    the project's function `wse_keyed_hash` (dbt-duckdb plugin; a session UDF on Spark), never
    written in SQL, so without it the order reveals nothing about the INSZ, the birth date or
    the sex. One person has one person_id in both base files. This table stays in the
    restricted database. -#}
{#- Numbered in buckets of the hash's first three hex digits: the rank within the bucket plus
    the persons of all earlier buckets. That is exactly the rank in the order of (hash, INSZ),
    as the buckets are prefixes of the hash, but no step needs all persons in one sorted
    partition: a window over all N persons without `partition by` runs as one task on Spark,
    4,096 buckets run in parallel. -#}

with

study_persons as (

    select * from {{ ref('int_study_persons') }}

),

hashed as (

    select
        *,
        wse_keyed_hash(insz) as keyed_hash
    from study_persons

),

bucketed as (

    select
        *,
        substr(keyed_hash, 1, 3) as hash_bucket
    from hashed

),

bucket_offsets as (

    -- the number of persons in the buckets before each bucket
    select
        hash_bucket,
        sum(count(*)) over (order by hash_bucket) - count(*) as persons_before
    from bucketed
    group by hash_bucket

),

final as (

    select
        cast(
            bucket_offsets.persons_before
            + row_number() over (partition by bucketed.hash_bucket order by bucketed.keyed_hash, bucketed.insz)
            as bigint
        ) as person_id,
        bucketed.insz,
        bucketed.is_beneficiary,
        bucketed.is_control,
        bucketed.beneficiary_measure_codes
    from bucketed
    inner join bucket_offsets
        on bucketed.hash_bucket = bucket_offsets.hash_bucket

)

select * from final
