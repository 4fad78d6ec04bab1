{#- The (person, quarter) pairs found more than once in the warehouse snapshots, with the
    row that is kept: the first by file, then row number. Small by nature, so the check of
    all snapshot rows is a join to this table rather than a window over every row.
    Counting every pair by its INSZ and quarter would hold all 9 million pairs (scale 1.0)
    as text in memory; they are counted by a 64-bit hash of the pair instead, and only the
    rows whose hash repeats are looked at again by the pair itself, so that a collision of
    hashes can never make a duplicate of two different pairs. -#}

with

snapshots as (

    select * from {{ ref('stg_dwh__snapshots') }}

),

repeated_hashes as (

    select {{ hash_of(['insz', 'snapshot_quarter']) }} as pair_hash
    from snapshots
    group by {{ hash_of(['insz', 'snapshot_quarter']) }}
    having count(*) > 1

),

candidate_rows as (

    select
        snapshots.insz,
        snapshots.snapshot_quarter,
        snapshots.source_file,
        snapshots.source_row_number
    from snapshots
    inner join repeated_hashes
        on {{ hash_of(['snapshots.insz', 'snapshots.snapshot_quarter']) }} = repeated_hashes.pair_hash

),

final as (

    select
        insz,
        snapshot_quarter,
        count(*) as n_rows,
        min({{ struct_of([('file', 'source_file'), ('row', 'source_row_number')]) }}) as kept_row
    from candidate_rows
    group by insz, snapshot_quarter
    having count(*) > 1

)

select * from final
