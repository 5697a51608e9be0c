-- Asserts that reference_price_metrics' n_listings, n_priced and
-- median_price_usd equal an independent recomputation from stg_raw__listings
-- (the median as the mean of the one or two middle non-outlier prices found by
-- row_number, in exact numeric arithmetic, instead of percentile_cont), for
-- every reference in the latest var('test_sample_weeks') market weeks, and
-- that both sides hold the same reference-weeks.
with

metrics as (

    select * from {{ ref('reference_price_metrics') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

sample_weeks as (

    select distinct market_week
    from metrics
    order by market_week desc
    limit {{ var('test_sample_weeks') }}

),

sampled_listings as (

    select listings.*
    from listings
    inner join sample_weeks
        on listings.market_week = sample_weeks.market_week
    where listings.market_week >= (select min(earliest.market_week) as first_week from sample_weeks as earliest)

),

counts as (

    select
        brand,
        reference_number,
        market_week,
        count(*) as n_listings,
        sum(case when is_outlier then 0 else 1 end) as n_priced
    from sampled_listings
    group by brand, reference_number, market_week

),

ranked_prices as (

    select
        brand,
        reference_number,
        market_week,
        price_usd,
        row_number() over (
            partition by brand, reference_number, market_week
            order by price_usd
        ) as price_rank,
        count(*) over (partition by brand, reference_number, market_week) as n_prices
    from sampled_listings
    where not is_outlier

),

medians as (

    select
        brand,
        reference_number,
        market_week,
        avg(price_usd) as median_price_usd
    from ranked_prices
    where price_rank in ((n_prices + 1) / 2, (n_prices + 2) / 2)
    group by brand, reference_number, market_week

),

recomputed as (

    select
        counts.brand,
        counts.reference_number,
        counts.market_week,
        counts.n_listings,
        counts.n_priced,
        medians.median_price_usd
    from counts
    left join medians
        on
            counts.brand = medians.brand
            and counts.reference_number = medians.reference_number
            and counts.market_week = medians.market_week

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
