{#- The combination of `columns` is unique: no two rows share all of them. Rows are counted
    by a 64-bit hash of the combination first, which holds 8 bytes a row where the columns
    themselves held all of them (the panel's key at scale 10: 92 million); only the rows
    whose hash repeats are counted again by the columns, so a collision of hashes is never
    reported as a duplicate. -#}
{% test unique_combination(model, columns) %}

with

repeated_hashes as (

    select {{ hash_of(columns) }} as combination_hash
    from {{ model }}
    group by {{ hash_of(columns) }}
    having count(*) > 1

)

select
    {{ columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
where {{ hash_of(columns) }} in (select repeated_hashes.combination_hash from repeated_hashes)
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
