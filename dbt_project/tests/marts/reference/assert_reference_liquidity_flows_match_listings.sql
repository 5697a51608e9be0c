-- Asserts that reference_liquidity's flows (n_new_listings, n_ended_listings,
-- n_price_cuts) equal a recomputation straight from stg_raw__listings of each
-- sampled week t and the week before (null when the week before was not
-- loaded), for the latest var('test_sample_weeks') market weeks (with
-- from_week set, only the rebuilt weeks), independent of the spell models.
with

liquidity as (

    select * from {{ ref('reference_liquidity') }}

),

listings as (

    select * from {{ ref('stg_raw__listings') }}

),

ingest_runs as (

    select * from {{ ref('stg_raw__ingest_runs') }}

),

sample_weeks as (

    {{ sampled_market_weeks(ref('reference_liquidity')) }}

),

loaded_weeks as (

    select distinct market_week
    from ingest_runs
    where status = 'succeeded'

),

loaded_sample_weeks as (

    -- the mart publishes loaded weeks only
    select sample_weeks.market_week
    from sample_weeks
    inner join loaded_weeks
        on sample_weeks.market_week = loaded_weeks.market_week

),

recent_listings as (

    select *
    from listings
    where market_week >= (select min(earliest.market_week) - 7 as first_week from sample_weeks as earliest)

),

this_week as (

    select
        recent_listings.*,
        week_before.listing_id is not null as was_listed,
        week_before.currency = recent_listings.currency
        and week_before.price_local > recent_listings.price_local as is_cut
    from recent_listings
    inner join loaded_sample_weeks
        on recent_listings.market_week = loaded_sample_weeks.market_week
    left join recent_listings as week_before
        on
            recent_listings.source = week_before.source
            and recent_listings.listing_id = week_before.listing_id
            and week_before.market_week = recent_listings.market_week - 7

),

week_before as (

    select
        recent_listings.brand,
        recent_listings.reference_number,
        cast(recent_listings.market_week + 7 as date) as market_week,
        this_week.listing_id is null as has_left
    from recent_listings
    inner join loaded_sample_weeks
        on recent_listings.market_week = loaded_sample_weeks.market_week - 7
    left join recent_listings as this_week
        on
            recent_listings.source = this_week.source
            and recent_listings.listing_id = this_week.listing_id
            and this_week.market_week = recent_listings.market_week + 7

),

arrivals as (

    select
        brand,
        reference_number,
        market_week,
        count(*) filter (where not was_listed) as n_new_listings,
        count(*) filter (where is_cut) as n_price_cuts
    from this_week
    group by brand, reference_number, market_week

),

departures as (

    select
        brand,
        reference_number,
        market_week,
        count(*) filter (where has_left) as n_ended_listings
    from week_before
    group by brand, reference_number, market_week

),

expected as (

    select
        coalesce(arrivals.brand, departures.brand) as brand,
        coalesce(arrivals.reference_number, departures.reference_number) as reference_number,
        coalesce(arrivals.market_week, departures.market_week) as market_week,
        case when loaded_weeks.market_week is not null then coalesce(arrivals.n_new_listings, 0) end
            as n_new_listings,
        case when loaded_weeks.market_week is not null then coalesce(departures.n_ended_listings, 0) end
            as n_ended_listings,
        case when loaded_weeks.market_week is not null then coalesce(arrivals.n_price_cuts, 0) end
            as n_price_cuts
    from arrivals
    full outer join departures
        on
            arrivals.brand = departures.brand
            and arrivals.reference_number = departures.reference_number
            and arrivals.market_week = departures.market_week
    left join loaded_weeks
        on loaded_weeks.market_week = coalesce(arrivals.market_week, departures.market_week) - 7

),

published as (

    select liquidity.*
    from liquidity
    inner join loaded_sample_weeks
        on liquidity.market_week = loaded_sample_weeks.market_week

)

select
    coalesce(published.brand, expected.brand) as brand,
    coalesce(published.reference_number, expected.reference_number) as reference_number,
    coalesce(published.market_week, expected.market_week) as market_week,
    expected.n_new_listings as expected_n_new_listings,
    published.n_new_listings,
    expected.n_ended_listings as expected_n_ended_listings,
    published.n_ended_listings,
    expected.n_price_cuts as expected_n_price_cuts,
    published.n_price_cuts
from published
full outer join expected
    on
        published.brand = expected.brand
        and published.reference_number = expected.reference_number
        and published.market_week = expected.market_week
where
    published.market_week is null
    or expected.market_week is null
    or published.n_new_listings is distinct from expected.n_new_listings
    or published.n_ended_listings is distinct from expected.n_ended_listings
    or published.n_price_cuts is distinct from expected.n_price_cuts
