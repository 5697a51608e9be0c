{{ config(materialized='view') }}

with

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

flagged as (

    select
        market_week,
        source,
        listing_id,
        brand,
        reference_number,
        specific_model,
        parent_model,
        condition,
        price_usd,
        is_outlier,
        not is_outlier as is_priced,
        condition = 'new' as is_new,
        condition in (
            {%- for category in preowned_condition_categories() %}
            '{{ category }}'{{ ',' if not loop.last }}
            {%- endfor %}
        ) as is_preowned

    from listings

)

select * from flagged
