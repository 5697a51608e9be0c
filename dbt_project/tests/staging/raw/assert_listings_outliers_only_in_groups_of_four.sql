-- Asserts the ingest's outlier contract (docs/metrics.md) on the latest
-- var('test_sample_weeks') market weeks of stg_raw__listings: listings are
-- flagged outliers only within (brand, reference_number, market_week) groups
-- of at least 4 valid listings. An upstream data-health signal: warn.
{{ config(severity='warn') }}

with

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

recent_weeks as (

    {{ sampled_market_weeks(ref('stg_raw__listings')) }}

),

group_weeks as (

    select
        brand,
        reference_number,
        market_week,
        count(*) as n_listings,
        count(*) filter (where is_outlier) as n_outliers
    from listings
    where market_week >= (select min(earliest.market_week) as first_week from recent_weeks as earliest)
    group by brand, reference_number, market_week

)

select *
from group_weeks
where n_outliers > 0 and n_listings < 4
