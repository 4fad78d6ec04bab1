with

source as (

    select
        *,
        -- line 1 is the header
        row_number() over () + 1 as source_line_number
    from {{ source('wse', 'outreach_activering') }}

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
        filename as source_file,
        source_line_number,
        {{ cast_problems({'traject_afgerond': 'yes_no', 'aantal_projecten': 'integer'}) }} as cast_problem
    from source

)

select * from renamed
