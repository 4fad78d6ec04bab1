{#- Per source: rows read (staging) = rows accepted (what the linkage uses) + rows
    quarantined. Counted from three independent places, so a row lost or doubled anywhere
    between staging and the linkage shows as is_reconciled = false (and fails the build). -#}
{%- set catalog = measure_catalog() %}

with

rows_read as (

    {% for measure_code in catalog %}
    select
        'wse.{{ measure_code }}' as source_name,
        count(*) as n_rows
    from {{ ref('stg_wse__' ~ measure_code) }}
    union all
    {% endfor %}
    select
        'dwh.snapshots' as source_name,
        count(*) as n_rows
    from {{ ref('stg_dwh__snapshots') }}
    union all
    select
        'dwh.control_sample' as source_name,
        count(*) as n_rows
    from {{ ref('stg_dwh__control_sample') }}

),

rows_accepted as (

    select
        'wse.' || measure_code as source_name,
        count(*) as n_rows
    from {{ ref('int_measure_uses_classed') }}
    group by measure_code
    union all
    -- the accepted rows of study persons: exactly the in-register quarters of the panel
    select
        'dwh.snapshots' as source_name,
        count(*) as n_rows
    from {{ ref('int_snapshots_checked') }} as snapshots
    where
        snapshots.is_accepted
        and snapshots.insz in (select persons.insz from {{ ref('int_persons_pseudonymised') }} as persons)
    union all
    select
        'dwh.control_sample' as source_name,
        count(*) as n_rows
    from {{ ref('int_persons_pseudonymised') }}
    where is_control

),

rows_quarantined as (

    select
        source_name,
        count(*) as n_rows
    from {{ ref('quarantine') }}
    group by source_name

),

final as (

    select
        rows_read.source_name,
        rows_read.n_rows as rows_read,
        coalesce(rows_accepted.n_rows, 0) as rows_accepted,
        coalesce(rows_quarantined.n_rows, 0) as rows_quarantined,
        rows_read.n_rows = coalesce(rows_accepted.n_rows, 0) + coalesce(rows_quarantined.n_rows, 0) as is_reconciled
    from rows_read
    left join rows_accepted
        on rows_read.source_name = rows_accepted.source_name
    left join rows_quarantined
        on rows_read.source_name = rows_quarantined.source_name

)

select * from final
