{{ config(materialized='view') }}
{#- Every warehouse snapshot row with the reasons it cannot be used (int_snapshot_rejections)
    and whether it is accepted. A view: its consumers read only the columns they need from
    the parquet files, and the reasons come from a small table by file and row number. -#}

with

snapshots as (

    select * from {{ ref('stg_dwh__snapshots') }}

),

rejections as (

    select * from {{ ref('int_snapshot_rejections') }}

),

final as (

    select
        snapshots.*,
        rejections.rejection_reasons,
        rejections.rejection_reasons is null as is_accepted
    from snapshots
    left join rejections
        on
            snapshots.source_file = rejections.source_file
            and snapshots.source_row_number = rejections.source_row_number

)

select * from final
