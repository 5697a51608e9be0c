-- Asserts that parent_model_price_metrics.median_price_usd equals the mean of
-- the lower and upper middle non-outlier prices (percentile_disc ascending and
-- descending) of the parent model's listings in stg_raw__listings, within half
-- a cent, for the latest var('test_sample_weeks') market weeks; null exactly
-- when every listing of the group-week is an outlier.
with

metrics as (

    select * from {{ ref('parent_model_price_metrics') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('parent_model_price_metrics')) }}

),

expected as (

    select
        brand,
        parent_model,
        market_week,
        (
            percentile_disc(0.5) within group (order by price_usd) filter (where not is_outlier)
            + percentile_disc(0.5) within group (order by price_usd desc) filter (where not is_outlier)
        ) / 2 as median_price_usd
    from listings
    where
        market_week >= (select min(earliest.market_week) as first_week from sample_weeks as earliest)
        and parent_model is not null
    group by brand, parent_model, market_week

)

select
    expected.brand,
    expected.parent_model,
    expected.market_week,
    expected.median_price_usd as expected_median_price_usd,
    metrics.median_price_usd
from expected
left join metrics
    on
        expected.brand = metrics.brand
        and expected.parent_model = metrics.parent_model
        and expected.market_week = metrics.market_week
where
    metrics.brand is null
    or (expected.median_price_usd is null) <> (metrics.median_price_usd is null)
    or abs(expected.median_price_usd - metrics.median_price_usd) > 0.005
