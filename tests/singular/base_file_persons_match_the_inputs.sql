-- Persons in beneficiary_base = distinct INSZ over the accepted extract rows; persons in
-- control_base = the accepted control sample; flagged control persons = the intersection,
-- each counted from the checked inputs independently of the linkage.
with

accepted_beneficiaries as (

    select distinct insz from {{ ref('int_measure_uses_checked') }} where is_accepted

),

accepted_controls as (

    select distinct insz from {{ ref('int_control_sample_checked') }} where is_accepted

),

expected as (

    select 'beneficiary_base persons' as check_name, count(*) as n from accepted_beneficiaries
    union all
    select 'control_base persons', count(*) from accepted_controls
    union all
    select 'control persons flagged as beneficiary', count(*)
    from accepted_controls
    inner join accepted_beneficiaries
        on accepted_controls.insz = accepted_beneficiaries.insz

),

actual as (

    select 'beneficiary_base persons' as check_name, count(distinct person_id) as n
    from {{ ref('beneficiary_base') }}
    union all
    select 'control_base persons', count(distinct person_id) from {{ ref('control_base') }}
    union all
    select 'control persons flagged as beneficiary', count(distinct person_id)
    from {{ ref('control_base') }}
    where is_beneficiary

)

select
    expected.check_name,
    expected.n as expected_n,
    actual.n as actual_n
from expected
inner join actual
    on expected.check_name = actual.check_name
where expected.n <> actual.n
