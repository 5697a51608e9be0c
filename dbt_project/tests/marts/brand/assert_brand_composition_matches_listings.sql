-- Asserts that brand_composition's condition counts (n_<category>, n_new,
-- n_preowned, n_listings) equal a count of stg_raw__listings grouped by
-- brand, week and condition (outliers included), unpivoted, for the latest
-- var('test_sample_weeks') market weeks; a category a brand-week lacks must
-- show 0.
with

composition as (

    select * from {{ ref('brand_composition') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('brand_composition')) }}

),

listing_counts as (

    select
        brand,
        market_week,
        condition,
        count(*) as n_listings
    from listings
    where market_week >= (select min(earliest.market_week) as first_week from sample_weeks as earliest)
    group by brand, market_week, condition

),

published_counts as (

    select
        composition.brand,
        composition.market_week,
        counts.condition,
        counts.n_listings
    from composition
    inner join sample_weeks
        on composition.market_week = sample_weeks.market_week
    cross join lateral (
        values
        ('new', composition.n_new),
        ('unworn', composition.n_unworn),
        ('very_good', composition.n_very_good),
        ('good', composition.n_good),
        ('fair', composition.n_fair),
        ('poor', composition.n_poor),
        ('incomplete', composition.n_incomplete),
        ('preowned_unspecified', composition.n_preowned_unspecified),
        ('unknown', composition.n_unknown),
        ('all', composition.n_listings),
        ('preowned', composition.n_preowned)
    ) as counts (condition, n_listings)

),

expected_counts as (

    select
        brand,
        market_week,
        condition,
        n_listings
    from listing_counts
    union all
    select
        brand,
        market_week,
        'all' as condition,
        sum(n_listings) as n_listings
    from listing_counts
    group by brand, market_week
    union all
    select
        brand,
        market_week,
        'preowned' as condition,
        sum(n_listings) as n_listings
    from listing_counts
    where condition not in ('new', 'unknown')
    group by brand, market_week

)

select
    coalesce(published_counts.brand, expected_counts.brand) as brand,
    coalesce(published_counts.market_week, expected_counts.market_week) as market_week,
    coalesce(published_counts.condition, expected_counts.condition) as condition,
    expected_counts.n_listings as expected_n_listings,
    published_counts.n_listings
from published_counts
full outer join expected_counts
    on
        published_counts.brand = expected_counts.brand
        and published_counts.market_week = expected_counts.market_week
        and published_counts.condition = expected_counts.condition
where coalesce(published_counts.n_listings, 0) <> coalesce(expected_counts.n_listings, 0)
