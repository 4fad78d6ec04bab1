{#- The delivery this build read, as one row: its id is the SHA-256 of the record of its
    files (path, size, SHA-256 of each, in path order), so the same files give the same id
    in every build and any changed, added or missing file gives another. The id carries no
    path or name: the research database holds it (marts.base_file_delivery). -#}

with

files as (

    select * from {{ ref('delivery_files') }}

),

final as (

    select
        {{ sha256_hex(sorted_string_agg("file_path || ' ' || file_size_bytes || ' ' || file_sha256", "'\n'", 'file_path')) }}
            as delivery_id,
        count(*) as n_files,
        cast(sum(file_size_bytes) as bigint) as n_bytes,
        cast(sum(rows_read) as bigint) as rows_read,
        cast(sum(rows_accepted) as bigint) as rows_accepted,
        cast(sum(rows_quarantined) as bigint) as rows_quarantined,
        max(read_at) as read_at
    from files

)

select * from final
