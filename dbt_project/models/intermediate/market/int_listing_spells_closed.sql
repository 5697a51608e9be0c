{#-
    One row per spell that is over: its listing was absent in the week after
    its last week. Keyed by market_week = that week after (when the spell is
    learnt to be over); is_ended when that week was loaded (sold or
    withdrawn), else the spell was cut by a week that was not loaded
    (censored at its last week, never ended). A spell still present in the
    latest week is not here.
-#}
with

spell_weeks as (

    select * from {{ ref('int_listing_spell_weeks') }}
    where {{ incremental_week_filter(lookback_weeks=1) }}

),

ingest_runs as (

    select * from {{ ref('stg_raw__ingest_runs') }}

),

loaded_weeks as (

    select distinct market_week
    from ingest_runs
    where status = 'succeeded'

),

latest_week as (

    select max(market_week) as market_week
    from spell_weeks

),

closed_spells as (

    select
        cast(last_week.market_week + 7 as date) as market_week,
        last_week.source,
        last_week.listing_id,
        last_week.spell_first_week,
        last_week.market_week as spell_last_week,
        last_week.spell_brand,
        last_week.spell_reference_number,
        last_week.spell_specific_model,
        last_week.spell_parent_model,
        -- the group in the spell's last week: the group the listing leaves
        last_week.brand,
        last_week.reference_number,
        last_week.specific_model,
        last_week.parent_model,
        loaded_weeks.market_week is not null as is_ended

    from spell_weeks as last_week
    cross join latest_week
    left join spell_weeks as next_week
        on
            last_week.source = next_week.source
            and last_week.listing_id = next_week.listing_id
            and next_week.market_week = last_week.market_week + 7
    left join loaded_weeks
        on loaded_weeks.market_week = last_week.market_week + 7
    where
        next_week.listing_id is null
        and last_week.market_week < latest_week.market_week

)

select * from closed_spells
where {{ incremental_week_filter() }}
