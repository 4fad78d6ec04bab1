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

measure_attributes as (

    select
        insz as linkage_insz,
        {{ star_except(['insz', 'source_file', 'source_line_number'] + measure_exact_columns()) }}
    from measure_uses

),

final as (

    select
        persons.person_id,
        {{ star_except(['linkage_insz'], 'measure_attributes') }}
    from measure_attributes
    inner join persons
        on measure_attributes.linkage_insz = persons.insz

)

select * from final
