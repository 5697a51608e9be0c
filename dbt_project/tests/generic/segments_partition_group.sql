{% test segments_partition_group(model, key_columns, group_prices) %}
{#-
    A segment mart (`model`) against its level's price metrics
    (`group_prices`): fails on every segment row whose segment is not `new` or
    `preowned`, whose n_priced is below 1, whose median or market price is
    missing or outside the valid price bounds [100, 10,000,000], whose group-week
    (key_columns, market_week) has no row in `group_prices`, or whose
    group-week's segments hold more priced listings than the group-week.
-#}
with

segment_prices as (

    select * from {{ model }}

),

prices as (

    select * from {{ group_prices }}

),

checked as (

    select
        {%- for key in key_columns %}
        segment_prices.{{ key }},
        {%- endfor %}
        segment_prices.market_week,
        segment_prices.segment,
        segment_prices.n_priced,
        segment_prices.median_price_usd,
        segment_prices.market_price_usd,
        prices.n_priced as group_n_priced,
        sum(segment_prices.n_priced) over (
            partition by
                {%- for key in key_columns %}
                segment_prices.{{ key }},
                {%- endfor %}
                segment_prices.market_week
        ) as segments_n_priced
    from segment_prices
    left join prices
        on
            {%- for key in key_columns %}
            segment_prices.{{ key }} = prices.{{ key }} and
            {%- endfor %}
            segment_prices.market_week = prices.market_week

)

select *
from checked
where
    segment not in ('new', 'preowned')
    or not coalesce(n_priced >= 1, false)
    or not coalesce(median_price_usd between 100 and 10000000, false)
    or not coalesce(market_price_usd between 100 and 10000000, false)
    or group_n_priced is null
    or segments_n_priced > group_n_priced
{% endtest %}
