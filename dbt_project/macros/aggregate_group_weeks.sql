{% macro aggregate_group_weeks(key_columns, listings) %}
    {#-
        Weekly aggregate of one aggregation level: one row per group per
        market week with listings. Groups with a null key column are excluded.
        Reads only the listings of the recomputed weeks (no look-back needed).

        Every price statistic is over the non-outlier listings (is_priced).
        The median and the band percentiles are ordered-set aggregates over
        the same ordered input and filter, so PostgreSQL sorts a group-week's
        prices once for all of them. The ends of the median's interval are the
        order statistics x(j), x(k), whose ranks depend on n_priced (which an
        ordered-set aggregate cannot take as a fraction): they index the
        group-week's sorted prices, with the ranks in exact numeric arithmetic.
        The prices are collected unordered and sorted per group-week: an
        ordered array_agg would make the planner sort all listings by group
        and price at once, which costs more than sorting each group's prices.
    -#}
    {%- set keys = key_columns | join(', ') %}
with

listings as (

    select * from {{ listings }}
    where {{ incremental_week_filter() }}

),

group_weeks as (

    select
        {{ keys }},
        market_week,
        cast(count(*) as integer) as n_listings,
        cast(count(*) filter (where is_priced) as integer) as n_priced,
        percentile_cont(0.5) within group (
            order by cast(price_usd as double precision)
        ) filter (where is_priced) as median_price_usd,
        percentile_cont(array[0.1, 0.25, 0.75, 0.9]) within group (
            order by cast(price_usd as double precision)
        ) filter (where is_priced) as price_band,
        array_agg(cast(price_usd as double precision)) filter (where is_priced) as prices,
        cast(count(*) filter (where is_priced and is_new) as integer) as n_new_priced,
        percentile_cont(0.5) within group (
            order by cast(price_usd as double precision)
        ) filter (where is_priced and is_new) as median_new_price_usd,
        cast(count(*) filter (where is_priced and is_preowned) as integer) as n_preowned_priced,
        percentile_cont(0.5) within group (
            order by cast(price_usd as double precision)
        ) filter (where is_priced and is_preowned) as median_preowned_price_usd,
        cast(count(*) filter (where is_new) as integer) as n_new,
        cast(count(*) filter (where is_preowned) as integer) as n_preowned,
        {%- for category in condition_categories() if category != 'new' %}
        cast(count(*) filter (where condition = '{{ category }}') as integer) as n_{{ category }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from listings
    where
        {%- for key in key_columns %}
        {{ 'and ' if not loop.first }}{{ key }} is not null
        {%- endfor %}
    group by {{ keys }}, market_week

),

final as (

    select
        {%- for key in key_columns %}
        group_weeks.{{ key }},
        {%- endfor %}
        group_weeks.market_week,
        group_weeks.n_listings,
        group_weeks.n_priced,
        group_weeks.median_price_usd,
        group_weeks.price_band[1] as p10_price_usd,
        group_weeks.price_band[2] as p25_price_usd,
        group_weeks.price_band[3] as p75_price_usd,
        group_weeks.price_band[4] as p90_price_usd,
        -- actual listing prices (a cent amount as a double converts back to the
        -- same cents); null below 6 priced listings
        case
            when group_weeks.n_priced >= 6
                then sorted.prices[{{ median_ci_rank('group_weeks.n_priced', 'low') }}]
        end as median_ci_low_usd,
        case
            when group_weeks.n_priced >= 6
                then sorted.prices[{{ median_ci_rank('group_weeks.n_priced', 'high') }}]
        end as median_ci_high_usd,
        group_weeks.n_new_priced,
        group_weeks.median_new_price_usd,
        group_weeks.n_preowned_priced,
        group_weeks.median_preowned_price_usd,
        group_weeks.n_new,
        group_weeks.n_preowned,
        {%- for category in condition_categories() if category != 'new' %}
        group_weeks.n_{{ category }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from group_weeks
    cross join lateral (
        select array_agg(price.price_usd order by price.price_usd) as prices
        from unnest(group_weeks.prices) as price (price_usd)
    ) as sorted

)

select * from final
{%- endmacro %}
