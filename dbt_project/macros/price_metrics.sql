{% macro price_metrics(key_columns, group_weeks, price_distribution=true) %}
    {#-
        Weekly price metrics of one aggregation level from its weekly
        aggregate: counts, median, 30-day market price, its changes and the
        confidence class. Output weeks >= recompute_from_week(); inputs read
        from 56 weeks earlier (change_1y at t needs the market price at
        t - 52 weeks, which averages medians back to t - 56 weeks).
        Ratios are computed from the unrounded medians and market prices.

        price_distribution=true (the level marts): also n_listings, the price
        band (p10 .. p90), the interval of the median and new_premium, which
        the weekly aggregate holds. false (the segment marts): the input holds
        only n_priced and the median per group-week, and key_columns carries
        the level's keys plus `segment`, so every window runs per segment.
    -#}
    {%- set keys = key_columns | join(', ') %}
with

group_weeks as (

    select * from {{ group_weeks }}
    where {{ incremental_week_filter(lookback_weeks=56) }}

),

market_prices as (

    select
        *,
        -- mean of the medians of the weeks in [t - 28 days, t]; weeks
        -- without data, or whose listings are all outliers, are skipped
        avg(median_price_usd) {{ market_week_window(key_columns, 28) }} as market_price_usd

    from group_weeks

),

earlier_market_prices as (

    select
        *,
        {%- for suffix, weeks in metric_horizons() %}
        -- the market price exactly {{ weeks }} week(s) earlier; null when the group had no row then
        first_value(market_price_usd) {{ market_week_window(key_columns, weeks * 7, weeks * 7) }}
            as market_price_usd_{{ suffix }}_earlier
        {{- ',' if not loop.last }}
        {%- endfor %}

    from market_prices

),

final as (

    select
        {{ keys }},
        market_week,
        {%- if price_distribution %}
        n_listings,
        {%- endif %}
        n_priced,
        {{ to_usd('median_price_usd') }} as median_price_usd,
        {{ to_usd('market_price_usd') }} as market_price_usd,
        {%- for suffix, weeks in metric_horizons() %}
        {{ to_ratio('market_price_usd / market_price_usd_' ~ suffix ~ '_earlier - 1') }} as change_{{ suffix }},
        {%- endfor %}
        {%- if price_distribution %}
        {{ to_usd('p10_price_usd') }} as p10_price_usd,
        {{ to_usd('p25_price_usd') }} as p25_price_usd,
        {{ to_usd('p75_price_usd') }} as p75_price_usd,
        {{ to_usd('p90_price_usd') }} as p90_price_usd,
        {{ to_usd('median_ci_low_usd') }} as median_ci_low_usd,
        {{ to_usd('median_ci_high_usd') }} as median_ci_high_usd,
        {{ price_confidence('n_priced') }} as confidence,
        {{ new_premium('n_new_priced', 'median_new_price_usd', 'n_preowned_priced', 'median_preowned_price_usd') }}
            as new_premium
        {%- else %}
        {{ price_confidence('n_priced') }} as confidence
        {%- endif %}

    from earlier_market_prices
    where {{ incremental_week_filter() }}

)

select * from final
{%- endmacro %}
