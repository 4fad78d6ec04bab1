with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('dwh', 'control_sample') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- lineage
        filename as source_file,
        source_line_number
    from source

)

select * from renamed
