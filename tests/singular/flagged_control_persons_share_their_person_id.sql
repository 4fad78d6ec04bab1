-- One person, one person_id: a control person flagged as beneficiary has the same
-- person_id in beneficiary_base.
select control_base.person_id
from {{ ref('control_base') }} as control_base
left join (select distinct person_id from {{ ref('beneficiary_base') }}) as beneficiaries
    on control_base.person_id = beneficiaries.person_id
where control_base.is_beneficiary and beneficiaries.person_id is null
