{#- The delivery this build read, file by file: its path relative to the landing folder,
    size and SHA-256 (read from the file now, by the project's dbt-duckdb plugin), and the
    rows read, accepted and quarantined, each counted where it happens, so that
    rows_read = rows_accepted + rows_quarantined is a test, not an identity.
    An auditor can check a delivery against this record with `sha256sum`. -#}
with

-- every line or row read: the checked models hold each staging row once (reconciliation)
rows_read as (

    select
        'wse.' || measure_code as source_name,
        source_file as file_path,
        count(*) as n_rows
    from {{ ref('int_measure_uses_checked') }}
    group by measure_code, source_file
    union all
    select
        'dwh.control_sample' as source_name,
        source_file as file_path,
        count(*) as n_rows
    from {{ ref('int_control_sample_checked') }}
    group by source_file
    union all
    select
        'dwh.snapshots' as source_name,
        {{ landing_relative_path('source_file') }} as file_path,
        count(*) as n_rows
    from {{ ref('int_snapshots_checked') }}
    group by source_file

),

rows_accepted as (

    select
        source_file as file_path,
        count(*) as n_rows
    from {{ ref('int_measure_uses_classed') }}
    group by source_file
    union all
    select
        control_sample.source_file as file_path,
        count(*) as n_rows
    from {{ ref('int_control_sample_checked') }} as control_sample
    inner join {{ ref('int_persons_pseudonymised') }} as persons
        on control_sample.insz = persons.insz
    where control_sample.is_accepted and persons.is_control
    group by control_sample.source_file
    union all
    -- the accepted rows of study persons: exactly the in-register quarters of the panel
    select
        {{ landing_relative_path('snapshots.source_file') }} as file_path,
        count(*) as n_rows
    from {{ ref('int_snapshots_checked') }} as snapshots
    where
        snapshots.is_accepted
        and snapshots.insz in (select persons.insz from {{ ref('int_persons_pseudonymised') }} as persons)
    group by snapshots.source_file

),

rows_quarantined as (

    select
        source_file as file_path,
        count(*) as n_rows
    from {{ ref('quarantine') }}
    group by source_file

),

final as (

    select
        rows_read.source_name,
        rows_read.file_path,
        wse_file_size(rows_read.file_path) as file_size_bytes,
        wse_file_sha256(rows_read.file_path) as file_sha256,
        rows_read.n_rows as rows_read,
        coalesce(rows_accepted.n_rows, 0) as rows_accepted,
        coalesce(rows_quarantined.n_rows, 0) as rows_quarantined,
        {{ build_started_at() }} as read_at
    from rows_read
    left join rows_accepted
        on rows_read.file_path = rows_accepted.file_path
    left join rows_quarantined
        on rows_read.file_path = rows_quarantined.file_path

)

select * from final
