{{ config(materialized='view') }}
{#- Every warehouse snapshot row with the reasons it cannot be used: INSZ malformed, quarter
    malformed or outside the period, person twice in one quarter (the first row by file and
    row number is kept, see int_snapshot_duplicates). A view: its consumers read only the
    columns they need from the parquet files. -#}

with

snapshots as (

    select * from {{ ref('stg_dwh__snapshots') }}

),

duplicates as (

    select * from {{ ref('int_snapshot_duplicates') }}

),

final as (

    select
        snapshots.*,
        nullif(concat_ws(
            '; ',
            case
                when nullif(snapshots.insz, '') is null then 'INSZ missing'
                when not {{ is_valid_insz('snapshots.insz') }} then 'INSZ malformed or failing its checksum'
            end,
            {{ quarter_problem('snapshots.snapshot_quarter') }},
            case
                when
                    duplicates.kept_row is not null
                    and duplicates.kept_row <> { 'file': snapshots.source_file, 'row': snapshots.source_row_number }
                    then 'person twice in snapshot quarter ' || snapshots.snapshot_quarter || ': kept the first row'
            end
        ), '') as rejection_reasons
    from snapshots
    left join duplicates
        on
            snapshots.insz = duplicates.insz
            and snapshots.snapshot_quarter = duplicates.snapshot_quarter

)

select
    *,
    rejection_reasons is null as is_accepted
from final
