{#- Which delivery the base files of this research database were built from: the delivery's
    id (a hash of its files' record, kept with the paths, checksums and time in the restricted
    database). No path, name, date or count of persons. -#}

with

delivery as (

    select * from {{ ref('delivery') }}

),

final as (

    -- the id only: when it was read is an exact date, kept on the restricted side
    select delivery_id
    from delivery

)

select * from final
