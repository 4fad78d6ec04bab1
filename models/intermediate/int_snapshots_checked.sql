{#- Every warehouse snapshot row with the reasons it cannot be used. A person found twice
    in one quarter keeps the first row (by file, then row number); the others are
    quarantined. -#}

with

snapshots as (

    select * from {{ ref('stg_dwh__snapshots') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by insz, snapshot_quarter
            order by source_file, source_row_number
        ) as person_quarter_rank
    from snapshots

),

final as (

    select
        * exclude (person_quarter_rank),
        nullif(concat_ws(
            '; ',
            case
                when nullif(insz, '') is null then 'INSZ missing'
                when not {{ is_valid_insz('insz') }} then 'INSZ malformed or failing its checksum'
            end,
            {{ quarter_problem('snapshot_quarter') }},
            case
                when person_quarter_rank > 1
                    then 'person twice in snapshot quarter ' || snapshot_quarter || ': kept the first row'
            end
        ), '') as rejection_reasons
    from ranked

)

select
    *,
    rejection_reasons is null as is_accepted
from final
