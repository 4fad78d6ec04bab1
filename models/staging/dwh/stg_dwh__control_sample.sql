with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('dwh', 'control_sample') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- lineage
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line
    from source

)

select * from renamed
