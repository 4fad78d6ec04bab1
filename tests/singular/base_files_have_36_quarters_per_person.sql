-- Both base files are balanced panels: 36 quarters (2014Q1-2022Q4) for every person.
{% for base in ['beneficiary_base', 'control_base'] %}
select '{{ base }}' as base_file, person_id, count(*) as n_quarters
from {{ ref(base) }}
group by person_id
having count(*) <> (select count(*) from {{ ref('quarters') }})
{% if not loop.last %}union all{% endif %}
{% endfor %}
