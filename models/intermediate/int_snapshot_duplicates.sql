{#- The (person, quarter) pairs found more than once in the warehouse snapshots, with the
    row that is kept: the first by file, then row number. Small by nature, so the check of
    all snapshot rows is a join to this table rather than a window over every row. -#}

with

snapshots as (

    select * from {{ ref('stg_dwh__snapshots') }}

),

final as (

    select
        insz,
        snapshot_quarter,
        count(*) as n_rows,
        min({ 'file': source_file, 'row': source_row_number }) as kept_row
    from snapshots
    group by insz, snapshot_quarter
    having count(*) > 1

)

select * from final
