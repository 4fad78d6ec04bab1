{#- Each arrondissement with its province and region (seeds arrondissements, provinces). -#}

with

arrondissements as (

    select * from {{ ref('arrondissements') }}

),

provinces as (

    select * from {{ ref('provinces') }}

),

final as (

    select
        arrondissements.arrondissement_code,
        arrondissements.province_code,
        provinces.region_code
    from arrondissements
    inner join provinces
        on arrondissements.province_code = provinces.province_code

)

select * from final
