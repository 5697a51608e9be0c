{% macro volatility_metrics(key_columns, group_weeks) %}
    {#-
        Weekly volatility and annualised growth of one aggregation level from
        its weekly aggregate. Output weeks >= recompute_from_week(); inputs
        read from 56 weeks earlier (growth_1y needs the market price at
        t - 52 weeks, which averages medians back to t - 56 weeks;
        volatility_1y needs medians back to t - 52 weeks).
        A weekly return needs both medians to come from at least
        var('volatility_min_priced') non-outlier listings (thinner medians are
        sampling noise); growth uses every market price.
        Growth is numeric(80, 10): prices lie in [100, 1e7], so a market price
        ratio is at most 1e5 and growth_1m = ratio^13 - 1 stays below 1e65.
    -#}
    {%- set keys = key_columns | join(', ') %}
    {%- set min_priced = var('volatility_min_priced') | int %}
with

group_weeks as (

    select * from {{ group_weeks }}
    where {{ incremental_week_filter(lookback_weeks=56) }}

),

weekly_returns as (

    select
        {{ keys }},
        market_week,
        avg(median_price_usd) {{ market_week_window(key_columns, 28) }} as market_price_usd,
        -- r(t) = ln(median(t) / median(t - 1 week)); null unless both weeks have a
        -- median from at least var('volatility_min_priced') non-outlier listings
        case when n_priced >= {{ min_priced }} then
            ln(
                median_price_usd
                / first_value(
                    case when n_priced >= {{ min_priced }} then median_price_usd end
                ) {{ market_week_window(key_columns, 7, 7) }}
            )
        end as weekly_log_return

    from group_weeks

),

trailing_returns as (

    select
        {{ keys }},
        market_week,
        {%- for suffix, weeks in metric_horizons() if weeks > 1 %}
        -- returns of the weeks w in (t - {{ weeks }} weeks, t]
        count(weekly_log_return) {{ market_week_window(key_columns, weeks * 7 - 1) }} as n_returns_{{ suffix }},
        stddev_samp(weekly_log_return) {{ market_week_window(key_columns, weeks * 7 - 1) }}
            as stddev_return_{{ suffix }},
        market_price_usd
        / first_value(market_price_usd) {{ market_week_window(key_columns, weeks * 7, weeks * 7) }}
            as market_price_ratio_{{ suffix }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from weekly_returns

),

final as (

    select
        {{ keys }},
        market_week,
        {%- for suffix, weeks in metric_horizons() if weeks > 1 %}
        {%- set min_returns = [3, (weeks / 2) | round(0, 'ceil') | int] | max %}
        -- null below max(3, ceil({{ weeks }} / 2)) = {{ min_returns }} returns
        {{ to_ratio(
            'case when n_returns_' ~ suffix ~ ' >= ' ~ min_returns
            ~ ' then stddev_return_' ~ suffix ~ ' * sqrt(52) end'
        ) }} as volatility_{{ suffix }},
        {%- endfor %}
        {%- for suffix, weeks in metric_horizons() if weeks > 1 %}
        {{ to_ratio('power(market_price_ratio_' ~ suffix ~ ', 52.0 / ' ~ weeks ~ ') - 1', precision=80) }}
            as growth_{{ suffix }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from trailing_returns
    where {{ incremental_week_filter() }}

)

select * from final
{%- endmacro %}
