with

-- the project's reader gives each line its true line number (line 1 is the header)
source as (

    select * from {{ source('wse', 'amif') }}

),

renamed as (

    select
        -- ids
        trim(insz) as insz,
        -- codes
        trim(project) as project_code,
        -- quarters (YYYYQn, validated downstream)
        upper(trim(kwartaal_start_traject)) as trajectory_start_quarter,
        upper(trim(kwartaal_einde_traject)) as trajectory_end_quarter,
        -- numerics
        {{ try_cast_value('aantal_projecten', 'integer') }} as projects_count,
        -- booleans
        {{ parse_yes_no('traject_afgerond') }} as is_trajectory_completed,
        -- lineage and cast problems
        source_file,
        source_line_number,
        -- a damaged line (wrong number of fields, unbalanced quote, not UTF-8): why, and the line as read
        line_problem,
        raw_line,
        {{ cast_problems({'traject_afgerond': 'yes_no', 'aantal_projecten': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
