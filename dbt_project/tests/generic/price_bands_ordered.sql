{% test price_bands_ordered(model, key_columns) %}
{#-
    The price band of a price-metrics mart is ordered and complete: fails on
    every group-week (key_columns, market_week) where
    p10 <= p25 <= median <= p75 <= p90 does not hold, where a band column
    lies outside the valid price bounds [100, 10,000,000], or where the band
    is not null exactly when the group-week has no priced listing.
-#}
select
    {%- for key in key_columns %}
    {{ key }},
    {%- endfor %}
    market_week,
    n_priced,
    p10_price_usd,
    p25_price_usd,
    median_price_usd,
    p75_price_usd,
    p90_price_usd
from {{ model }}
where
    (n_priced = 0) <> (p10_price_usd is null)
    or (p10_price_usd is null) <> (p25_price_usd is null)
    or (p10_price_usd is null) <> (p75_price_usd is null)
    or (p10_price_usd is null) <> (p90_price_usd is null)
    or (p10_price_usd is null) <> (median_price_usd is null)
    or p10_price_usd < 100
    or p90_price_usd > 10000000
    or p10_price_usd > p25_price_usd
    or p25_price_usd > median_price_usd
    or median_price_usd > p75_price_usd
    or p75_price_usd > p90_price_usd
{% endtest %}
