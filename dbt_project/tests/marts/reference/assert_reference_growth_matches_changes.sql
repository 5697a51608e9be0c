-- Asserts that, in the latest var('test_sample_weeks') market weeks, every
-- reference's growth_k in reference_volatility equals
-- (1 + change_k)^(52 / k) - 1 from reference_price_metrics (relative
-- tolerance 1e-6) and is null exactly where change_k is null.
with

volatility as (

    select * from {{ ref('reference_volatility') }}

),

price_metrics as (

    select * from {{ ref('reference_price_metrics') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('reference_price_metrics')) }}

),

paired as (

    select
        price_metrics.brand,
        price_metrics.reference_number,
        price_metrics.market_week,
        horizons.horizon,
        horizons.weeks,
        horizons.change,
        horizons.growth
    from price_metrics
    inner join sample_weeks
        on price_metrics.market_week = sample_weeks.market_week
    inner join volatility
        on
            price_metrics.brand = volatility.brand
            and price_metrics.reference_number = volatility.reference_number
            and price_metrics.market_week = volatility.market_week
    cross join lateral (
        values
        ('1m', 4, price_metrics.change_1m, volatility.growth_1m),
        ('3m', 13, price_metrics.change_3m, volatility.growth_3m),
        ('6m', 26, price_metrics.change_6m, volatility.growth_6m),
        ('1y', 52, price_metrics.change_1y, volatility.growth_1y)
    ) as horizons (horizon, weeks, change, growth)

),

expected as (

    select
        *,
        power(1 + change, 52.0 / weeks) - 1 as expected_growth
    from paired

)

select *
from expected
where
    (change is null) <> (growth is null)
    or abs(growth - expected_growth) > 0.000001 * greatest(1, abs(expected_growth))
