{#- The control sample with the reasons a line cannot be used: a damaged line, a malformed INSZ, an INSZ
    listed twice (the first line is kept), or an INSZ with no accepted warehouse record. -#}

with

control_sample as (

    select * from {{ ref('stg_dwh__control_sample') }}

),

warehouse_persons as (

    select distinct insz
    from {{ ref('int_snapshots_checked') }}
    where is_accepted

),

ranked as (

    select
        control_sample.*,
        warehouse_persons.insz is not null as has_warehouse_record,
        row_number() over (
            partition by control_sample.insz
            order by control_sample.source_line_number
        ) as insz_rank
    from control_sample
    left join warehouse_persons
        on control_sample.insz = warehouse_persons.insz

),

final as (

    select
        {{ star_except(['insz_rank', 'has_warehouse_record']) }},
        -- a damaged line has no INSZ to check: its damage is its one reason
        case
            when line_problem is not null then 'damaged line: ' || line_problem
            else nullif(concat_ws(
                '; ',
                {{ insz_problem('insz') }},
                case when insz_rank > 1 then 'INSZ twice in the control sample: kept the first line' end,
                case when not has_warehouse_record then 'control INSZ with no warehouse record' end
            ), '')
        end as rejection_reasons
    from ranked

)

select
    *,
    rejection_reasons is null as is_accepted
from final
