-- Asserts that reference_price_metrics' n_listings, n_priced and
-- median_price_usd equal an independent recomputation from stg_raw__listings
-- (the median as the mean of the lower and the upper middle non-outlier price,
-- percentile_disc from both ends in exact numeric arithmetic, instead of
-- percentile_cont), for every reference in the latest var('test_sample_weeks')
-- market weeks (from from_week on, when set), and that both sides hold the
-- same reference-weeks.
with

metrics as (

    select * from {{ ref('reference_price_metrics') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('reference_price_metrics')) }}

),

sampled_listings as (

    select listings.*
    from listings
    inner join sample_weeks
        on listings.market_week = sample_weeks.market_week
    where listings.market_week >= (select min(earliest.market_week) as first_week from sample_weeks as earliest)

),

recomputed as (

    select
        brand,
        reference_number,
        market_week,
        count(*) as n_listings,
        count(*) filter (where not is_outlier) as n_priced,
        (
            percentile_disc(0.5) within group (order by price_usd) filter (where not is_outlier)
            + percentile_disc(0.5) within group (order by price_usd desc) filter (where not is_outlier)
        ) / 2 as median_price_usd
    from sampled_listings
    group by brand, reference_number, market_week

),

published as (

    select metrics.*
    from metrics
    inner join sample_weeks
        on metrics.market_week = sample_weeks.market_week

)

select
    coalesce(recomputed.brand, published.brand) as brand,
    coalesce(recomputed.reference_number, published.reference_number) as reference_number,
    coalesce(recomputed.market_week, published.market_week) as market_week,
    recomputed.n_listings as expected_n_listings,
    published.n_listings,
    recomputed.n_priced as expected_n_priced,
    published.n_priced,
    recomputed.median_price_usd as expected_median_price_usd,
    published.median_price_usd
from recomputed
full outer join published
    on
        recomputed.brand = published.brand
        and recomputed.reference_number = published.reference_number
        and recomputed.market_week = published.market_week
where
    recomputed.brand is null
    or published.brand is null
    or recomputed.n_listings <> published.n_listings
    or recomputed.n_priced <> published.n_priced
    or (recomputed.median_price_usd is null) <> (published.median_price_usd is null)
    or abs(recomputed.median_price_usd - published.median_price_usd) > 0.005
