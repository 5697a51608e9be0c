{#-
    One row per listing (source, listing_id) per market week it is present,
    with the spell it belongs to: the spell's first week and its group there.
    A spell is a maximal run of consecutive market weeks; a week that was not
    loaded has no listings, so it ends every spell by itself.

    Incremental: the run reads the listings of the recomputed weeks and of the
    week before them, and this model's own rows of that week before (a spell
    running into the recomputed weeks keeps its first week and group), so the
    weekly run extends or opens spells of the new week only. A week's rows
    depend on that week and earlier ones only, so the weekly run of the week
    after the latest built one does not rewrite the latest (reprocess_latest
    false): this is the model with a row per listing.
-#}
{%- set start = recompute_from_week(reprocess_latest=false) %}
with

listings as (

    select * from {{ ref('stg_raw__listings') }}
    where {{ incremental_week_filter(lookback_weeks=1, reprocess_latest=false) }}

),

{%- if start is not none %}
{%- set week_before = modules.datetime.date.fromisoformat(start) - modules.datetime.timedelta(weeks=1) %}

built_spell_weeks as (

    select * from {{ this }}
    where market_week = '{{ week_before.isoformat() }}'::date

),
{%- endif %}

listing_weeks as (

    select
        market_week,
        source,
        listing_id,
        brand,
        reference_number,
        specific_model,
        parent_model,
        currency,
        price_local,
        -- present in the week before: the spell goes on (else this week opens one)
        coalesce(lag(market_week) over listing_history = market_week - 7, false) as is_in_previous_week,
        lag(currency) over listing_history as previous_currency,
        lag(price_local) over listing_history as previous_price_local

    from listings
    window listing_history as (partition by source, listing_id order by market_week)

),

spell_openings as (

    select
        *,
        -- the latest opening week up to this one, with the group there (the
        -- date as ISO text leads the array, so max() picks the latest opening)
        max(
            case
                when not is_in_previous_week
                    then array[cast(market_week as text), brand, reference_number, specific_model, parent_model]
            end
        ) over listing_history as spell_opening

    from listing_weeks
    window listing_history as (partition by source, listing_id order by market_week)

),

final as (

    select
        spell_openings.market_week,
        spell_openings.source,
        spell_openings.listing_id,
        spell_openings.brand,
        spell_openings.reference_number,
        spell_openings.specific_model,
        spell_openings.parent_model,
        spell_openings.currency,
        spell_openings.price_local,
        {%- if start is not none %}
        -- a spell already running in the week before the recomputed ones keeps its start
        coalesce(built.spell_first_week, cast(spell_openings.spell_opening[1] as date)) as spell_first_week,
        case when built.listing_id is null then spell_openings.spell_opening[2] else built.spell_brand end
            as spell_brand,
        case when built.listing_id is null then spell_openings.spell_opening[3] else built.spell_reference_number end
            as spell_reference_number,
        case when built.listing_id is null then spell_openings.spell_opening[4] else built.spell_specific_model end
            as spell_specific_model,
        case when built.listing_id is null then spell_openings.spell_opening[5] else built.spell_parent_model end
            as spell_parent_model,
        {%- else %}
        cast(spell_openings.spell_opening[1] as date) as spell_first_week,
        spell_openings.spell_opening[2] as spell_brand,
        spell_openings.spell_opening[3] as spell_reference_number,
        spell_openings.spell_opening[4] as spell_specific_model,
        spell_openings.spell_opening[5] as spell_parent_model,
        {%- endif %}
        spell_openings.is_in_previous_week,
        -- a cut is only comparable in one currency: a lower local price than the week before
        coalesce(
            spell_openings.is_in_previous_week
            and spell_openings.currency = spell_openings.previous_currency
            and spell_openings.price_local < spell_openings.previous_price_local,
            false
        ) as is_price_cut

    from spell_openings
    {% if start is not none -%}
    left join built_spell_weeks as built
        on
            spell_openings.source = built.source
            and spell_openings.listing_id = built.listing_id
            and cast(spell_openings.spell_opening[1] as date) = built.market_week
    {% endif -%}
    where {{ incremental_week_filter(column='spell_openings.market_week', reprocess_latest=false) }}

)

select * from final
