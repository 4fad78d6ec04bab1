{#- The warehouse snapshot rows that cannot be used, with their reasons: INSZ malformed,
    quarter malformed or outside the period, person twice in one quarter (the first row by
    file and row number is kept, see int_snapshot_duplicates). A small table: the checks run
    once, over the four columns they need, and int_snapshots_checked joins the reasons back
    to the rows by file and row number. -#}

with

snapshots as (

    select
        source_file,
        source_row_number,
        insz,
        snapshot_quarter
    from {{ ref('stg_dwh__snapshots') }}

),

duplicates as (

    select * from {{ ref('int_snapshot_duplicates') }}

),

checked as (

    select
        snapshots.source_file,
        snapshots.source_row_number,
        nullif(concat_ws(
            '; ',
            {{ insz_problem('snapshots.insz') }},
            {{ quarter_problem('snapshots.snapshot_quarter') }},
            case
                when
                    duplicates.kept_row is not null
                    and duplicates.kept_row <> {{ struct_of([('file', 'snapshots.source_file'), ('row', 'snapshots.source_row_number')]) }}
                    then 'person twice in snapshot quarter ' || snapshots.snapshot_quarter || ': kept the first row'
            end
        ), '') as rejection_reasons
    from snapshots
    left join duplicates
        on
            snapshots.insz = duplicates.insz
            and snapshots.snapshot_quarter = duplicates.snapshot_quarter

),

final as (

    select * from checked
    where rejection_reasons is not null

)

select * from final
