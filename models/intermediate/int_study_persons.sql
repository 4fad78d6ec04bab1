{#- Everyone in the study: the beneficiaries (distinct INSZ over the accepted rows of all
    16 extracts) and the control sample. A control person who is also a beneficiary stays
    in the control group and is flagged (deliberation §4); nobody is dropped. -#}

with

measure_uses as (

    select * from {{ ref('int_measure_uses_checked') }}
    where is_accepted

),

control_sample as (

    select * from {{ ref('int_control_sample_checked') }}
    where is_accepted

),

beneficiaries as (

    select
        insz,
        {{ sorted_string_agg('measure_code', "','", 'measure_code', distinct=true) }} as beneficiary_measure_codes
    from measure_uses
    group by insz

),

final as (

    select
        coalesce(beneficiaries.insz, control_sample.insz) as insz,
        beneficiaries.insz is not null as is_beneficiary,
        control_sample.insz is not null as is_control,
        beneficiaries.beneficiary_measure_codes
    from beneficiaries
    full outer join control_sample
        on beneficiaries.insz = control_sample.insz

)

select * from final
