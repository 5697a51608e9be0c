{% test new_premium_matches_segments(model, key_columns, segments) %}
{#-
    Cross-model consistency of a price-metrics mart (`model`) with its
    segment mart (`segments`): fails on every group-week (key_columns,
    market_week) whose new_premium is not null exactly when both the new and
    the pre-owned segment have n_priced >= 5, or differs from the ratio of the
    two published segment medians minus 1 by more than their cent rounding
    allows.
-#}
with

prices as (

    select * from {{ model }}

),

segment_prices as (

    select * from {{ segments }}

),

paired as (

    select
        {%- for key in key_columns %}
        prices.{{ key }},
        {%- endfor %}
        prices.market_week,
        prices.new_premium,
        new_segment.n_priced as n_new_priced,
        new_segment.median_price_usd as median_new_price_usd,
        preowned_segment.n_priced as n_preowned_priced,
        preowned_segment.median_price_usd as median_preowned_price_usd
    from prices
    left join segment_prices as new_segment
        on
            {%- for key in key_columns %}
            prices.{{ key }} = new_segment.{{ key }} and
            {%- endfor %}
            prices.market_week = new_segment.market_week
            and new_segment.segment = 'new'
    left join segment_prices as preowned_segment
        on
            {%- for key in key_columns %}
            prices.{{ key }} = preowned_segment.{{ key }} and
            {%- endfor %}
            prices.market_week = preowned_segment.market_week
            and preowned_segment.segment = 'preowned'

)

select *
from paired
where
    (new_premium is not null) <> (coalesce(n_new_priced >= 5 and n_preowned_priced >= 5, false))
    -- the published medians are rounded to the cent, which moves their ratio by
    -- at most 0.005 / median of each, relative; new_premium by 5e-11 more
    or abs(new_premium - (median_new_price_usd / median_preowned_price_usd - 1))
    > (1 + abs(new_premium)) * (0.0051 / median_new_price_usd + 0.0051 / median_preowned_price_usd)
    + 0.0000000001
{% endtest %}
