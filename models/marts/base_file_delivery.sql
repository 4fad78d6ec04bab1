{#- Which delivery the base files of this research database were built from: the delivery's
    id (a hash of its files' record, kept with the paths and checksums in the restricted
    database) and when it was read. No path, name or count of persons. -#}

with

delivery as (

    select * from {{ ref('delivery') }}

),

final as (

    select
        delivery_id,
        read_at
    from delivery

)

select * from final
