-- Asserts that reference_price_metrics' market_price_usd, change_1w and
-- change_1m equal an independent recomputation for the latest
-- var('test_sample_weeks') market weeks (from from_week on, when set): market
-- prices by a self-join over [t - 28 days, t] instead of a window frame, and
-- changes by joining the market price exactly 1 and 4 weeks earlier. The
-- inputs are the unrounded weekly medians of int_reference_weeks_aggregated,
-- which assert_reference_median_matches_listings recomputes from the listings
-- when each week is built; reading them (not 9 weeks of listings) keeps the
-- cost of this test at one week's worth of rows.
with

metrics as (

    select * from {{ ref('reference_price_metrics') }}

),

group_weeks_aggregated as (

    select * from {{ ref('int_reference_weeks_aggregated') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('reference_price_metrics')) }}

),

-- change_1m at the earliest sample week needs medians 8 weeks before it
group_weeks as (

    select
        brand,
        reference_number,
        market_week,
        median_price_usd
    from group_weeks_aggregated
    where market_week >= (select min(earliest.market_week) - 56 as first_week from sample_weeks as earliest)

),

market_prices as (

    select
        this_week.brand,
        this_week.reference_number,
        this_week.market_week,
        avg(window_weeks.median_price_usd) as market_price_usd
    from group_weeks as this_week
    left join group_weeks as window_weeks
        on
            this_week.brand = window_weeks.brand
            and this_week.reference_number = window_weeks.reference_number
            and window_weeks.market_week between this_week.market_week - 28 and this_week.market_week
    group by this_week.brand, this_week.reference_number, this_week.market_week

),

recomputed as (

    select
        market_prices.brand,
        market_prices.reference_number,
        market_prices.market_week,
        market_prices.market_price_usd,
        market_prices.market_price_usd / week_before.market_price_usd - 1 as change_1w,
        market_prices.market_price_usd / month_before.market_price_usd - 1 as change_1m
    from market_prices
    inner join sample_weeks
        on market_prices.market_week = sample_weeks.market_week
    left join market_prices as week_before
        on
            market_prices.brand = week_before.brand
            and market_prices.reference_number = week_before.reference_number
            and week_before.market_week = market_prices.market_week - 7
    left join market_prices as month_before
        on
            market_prices.brand = month_before.brand
            and market_prices.reference_number = month_before.reference_number
            and month_before.market_week = market_prices.market_week - 28

)

select
    recomputed.brand,
    recomputed.reference_number,
    recomputed.market_week,
    recomputed.market_price_usd as expected_market_price_usd,
    metrics.market_price_usd,
    recomputed.change_1w as expected_change_1w,
    metrics.change_1w,
    recomputed.change_1m as expected_change_1m,
    metrics.change_1m
from recomputed
left join metrics
    on
        recomputed.brand = metrics.brand
        and recomputed.reference_number = metrics.reference_number
        and recomputed.market_week = metrics.market_week
where
    metrics.brand is null
    or (recomputed.market_price_usd is null) <> (metrics.market_price_usd is null)
    or abs(recomputed.market_price_usd - metrics.market_price_usd) > 0.0051
    or (recomputed.change_1w is null) <> (metrics.change_1w is null)
    or abs(recomputed.change_1w - metrics.change_1w) > 0.00000001
    or (recomputed.change_1m is null) <> (metrics.change_1m is null)
    or abs(recomputed.change_1m - metrics.change_1m) > 0.00000001
