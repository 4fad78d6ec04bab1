{#- Every landing row that could not be used, with the source, file, line (or row), the
    INSZ as received and every reason that applies; a damaged line (wrong number of fields,
    unbalanced quote, bytes not UTF-8) also with the line itself as read. Nothing read is lost: a row is either
    used downstream or recorded here. Holds INSZ: restricted database only. -#}

with

measure_uses as (

    select * from {{ ref('int_measure_uses_checked') }}

),

snapshots as (

    select * from {{ ref('int_snapshots_checked') }}

),

study_persons as (

    select * from {{ ref('int_persons_pseudonymised') }}

),

-- accepted snapshot rows of a person outside the study (e.g. whose only measure row was
-- quarantined) are read but not used: they are recorded too
snapshot_rejections as (

    select
        snapshots.source_file,
        snapshots.source_row_number,
        snapshots.insz,
        coalesce(
            snapshots.rejection_reasons,
            'person not in the study population (no accepted measure row or control line)'
        ) as reasons
    from snapshots
    left join study_persons
        on snapshots.insz = study_persons.insz
    where not snapshots.is_accepted or study_persons.insz is null

),

control_sample as (

    select * from {{ ref('int_control_sample_checked') }}

),

final as (

    select
        'wse.' || measure_uses.measure_code as source_name,
        measure_uses.source_file,
        measure_uses.source_line_number,
        measure_uses.insz,
        measure_uses.rejection_reasons as reasons,
        measure_uses.raw_line
    from measure_uses
    where not measure_uses.is_accepted

    union all

    select
        'dwh.snapshots' as source_name,
        {{ landing_relative_path('snapshot_rejections.source_file') }} as source_file,
        snapshot_rejections.source_row_number as source_line_number,
        snapshot_rejections.insz,
        snapshot_rejections.reasons,
        cast(null as {{ dbt.type_string() }}) as raw_line
    from snapshot_rejections

    union all

    select
        'dwh.control_sample' as source_name,
        control_sample.source_file,
        control_sample.source_line_number,
        control_sample.insz,
        control_sample.rejection_reasons as reasons,
        control_sample.raw_line
    from control_sample
    where not control_sample.is_accepted

)

select * from final
