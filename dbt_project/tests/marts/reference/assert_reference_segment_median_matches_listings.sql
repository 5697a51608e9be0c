-- Asserts that reference_segment_price_metrics holds exactly one row per
-- reference, market week and segment with at least one non-outlier listing
-- of that segment in the latest var('test_sample_weeks') market weeks (from
-- from_week on, when set: the weeks the run rebuilt), and that its n_priced
-- and median_price_usd equal a recomputation from stg_raw__listings: the
-- segment from the condition (new; or unworn, very_good, good, fair, poor,
-- incomplete, preowned_unspecified), the median as the mean of the lower and
-- the upper middle non-outlier price (percentile_disc from both ends, exact
-- numeric), within half a cent.
with

segment_prices as (

    select * from {{ ref('reference_segment_price_metrics') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('reference_segment_price_metrics')) }}

),

segmented_listings as (

    select
        listings.brand,
        listings.reference_number,
        listings.market_week,
        listings.price_usd,
        case
            when listings.condition = 'new' then 'new'
            when listings.condition in (
                'unworn', 'very_good', 'good', 'fair', 'poor', 'incomplete', 'preowned_unspecified'
            ) then 'preowned'
        end as segment
    from listings
    inner join sample_weeks
        on listings.market_week = sample_weeks.market_week
    where
        listings.market_week >= (select min(earliest.market_week) as first_week from sample_weeks as earliest)
        and not listings.is_outlier

),

recomputed as (

    select
        brand,
        reference_number,
        market_week,
        segment,
        count(*) as n_priced,
        (
            percentile_disc(0.5) within group (order by price_usd)
            + percentile_disc(0.5) within group (order by price_usd desc)
        ) / 2 as median_price_usd
    from segmented_listings
    where segment is not null
    group by brand, reference_number, market_week, segment

),

published as (

    select segment_prices.*
    from segment_prices
    inner join sample_weeks
        on segment_prices.market_week = sample_weeks.market_week

)

select
    coalesce(recomputed.brand, published.brand) as brand,
    coalesce(recomputed.reference_number, published.reference_number) as reference_number,
    coalesce(recomputed.market_week, published.market_week) as market_week,
    coalesce(recomputed.segment, published.segment) as segment,
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
        and recomputed.segment = published.segment
where
    recomputed.brand is null
    or published.brand is null
    or recomputed.n_priced <> published.n_priced
    or abs(recomputed.median_price_usd - published.median_price_usd) > 0.005
