{#- One row per beneficiary per measure (the most recent approved use), with that
    measure's attributes: quarters, amount classes, codes, counts and flags. Exact amounts
    and day counts stay behind in the restricted database. -#}

with

measure_uses as (

    select * from {{ ref('int_measure_uses_classed') }}

),

persons as (

    select * from {{ ref('int_persons_pseudonymised') }}

),

final as (

    select
        persons.person_id,
        measure_uses.* exclude (
            insz, source_file, source_line_number,
            {{ measure_exact_columns() | join(', ') }}
        )
    from measure_uses
    inner join persons
        on measure_uses.insz = persons.insz

)

select * from final
