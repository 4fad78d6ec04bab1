{#- The (person, quarter) pairs found more than once in the warehouse snapshots, with the
    row that is kept: the first by file, then row number. Small by nature, so the check of
    all snapshot rows is a join to this table rather than a window over every row. The
    pairs are found by counting alone; the kept row is looked up for those pairs only
    (a minimum over every row's file path and row number would cost twice the count). -#}

with

snapshots as (

    select * from {{ ref('stg_dwh__snapshots') }}

),

repeated_pairs as (

    select
        insz,
        snapshot_quarter,
        count(*) as n_rows
    from snapshots
    group by insz, snapshot_quarter
    having count(*) > 1

),

final as (

    select
        repeated_pairs.insz,
        repeated_pairs.snapshot_quarter,
        repeated_pairs.n_rows,
        min({{ struct_of([('file', 'snapshots.source_file'), ('row', 'snapshots.source_row_number')]) }}) as kept_row
    from repeated_pairs
    inner join snapshots
        on
            repeated_pairs.insz = snapshots.insz
            and repeated_pairs.snapshot_quarter = snapshots.snapshot_quarter
    group by repeated_pairs.insz, repeated_pairs.snapshot_quarter, repeated_pairs.n_rows

)

select * from final
