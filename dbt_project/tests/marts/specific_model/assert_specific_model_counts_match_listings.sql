-- Asserts that specific_model_price_metrics holds exactly one row per
-- (brand, specific_model) with listings in each of the latest
-- var('test_sample_weeks') market weeks -- listings without a specific model
-- excluded -- and that its n_listings and n_priced equal the listing counts.
with

metrics as (

    select * from {{ ref('specific_model_price_metrics') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('specific_model_price_metrics')) }}

),

expected as (

    select
        brand,
        specific_model,
        market_week,
        count(*) as n_listings,
        count(*) - count(nullif(is_outlier, false)) as n_priced
    from listings
    where
        market_week >= (select min(earliest.market_week) as first_week from sample_weeks as earliest)
        and specific_model is not null
    group by brand, specific_model, market_week

),

published as (

    select metrics.*
    from metrics
    inner join sample_weeks
        on metrics.market_week = sample_weeks.market_week

)

select
    coalesce(expected.brand, published.brand) as brand,
    coalesce(expected.specific_model, published.specific_model) as specific_model,
    coalesce(expected.market_week, published.market_week) as market_week,
    expected.n_listings as expected_n_listings,
    published.n_listings,
    expected.n_priced as expected_n_priced,
    published.n_priced
from expected
full outer join published
    on
        expected.brand = published.brand
        and expected.specific_model = published.specific_model
        and expected.market_week = published.market_week
where
    expected.brand is null
    or published.brand is null
    or expected.n_listings <> published.n_listings
    or expected.n_priced <> published.n_priced
