-- Asserts that reference_volatility.volatility_1m equals an independent
-- recomputation for the latest var('test_sample_weeks') market weeks (from
-- from_week on, when set): weekly log returns by joining each week's median to
-- the median exactly 7 days earlier (both weeks' medians from at least
-- var('volatility_min_priced') non-outlier listings), then the sample standard
-- deviation of the returns of the weeks in (t - 28 days, t] times sqrt(52),
-- null below 3 returns. The inputs are the unrounded weekly medians of
-- int_reference_weeks_aggregated (recomputed from the listings by
-- assert_reference_median_matches_listings when each week is built).
with

volatility as (

    select * from {{ ref('reference_volatility') }}

),

group_weeks_aggregated as (

    select * from {{ ref('int_reference_weeks_aggregated') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('reference_volatility')) }}

),

medians as (

    select
        brand,
        reference_number,
        market_week,
        median_price_usd
    from group_weeks_aggregated
    where
        market_week >= (select min(earliest.market_week) - 28 as first_week from sample_weeks as earliest)
        and n_priced >= {{ var('volatility_min_priced') }}

),

weekly_returns as (

    select
        this_week.brand,
        this_week.reference_number,
        this_week.market_week,
        ln(this_week.median_price_usd / week_before.median_price_usd) as weekly_log_return
    from medians as this_week
    inner join medians as week_before
        on
            this_week.brand = week_before.brand
            and this_week.reference_number = week_before.reference_number
            and week_before.market_week = this_week.market_week - 7

),

recomputed as (

    select
        volatility.brand,
        volatility.reference_number,
        volatility.market_week,
        case
            when count(weekly_returns.weekly_log_return) >= 3
                then stddev_samp(weekly_returns.weekly_log_return) * sqrt(52)
        end as volatility_1m
    from volatility
    inner join sample_weeks
        on volatility.market_week = sample_weeks.market_week
    left join weekly_returns
        on
            volatility.brand = weekly_returns.brand
            and volatility.reference_number = weekly_returns.reference_number
            and volatility.market_week - 28 < weekly_returns.market_week
            and volatility.market_week >= weekly_returns.market_week
    group by volatility.brand, volatility.reference_number, volatility.market_week

)

select
    recomputed.brand,
    recomputed.reference_number,
    recomputed.market_week,
    recomputed.volatility_1m as expected_volatility_1m,
    volatility.volatility_1m
from recomputed
inner join volatility
    on
        recomputed.brand = volatility.brand
        and recomputed.reference_number = volatility.reference_number
        and recomputed.market_week = volatility.market_week
where
    (recomputed.volatility_1m is null) <> (volatility.volatility_1m is null)
    or abs(recomputed.volatility_1m - volatility.volatility_1m) > 0.00000001
