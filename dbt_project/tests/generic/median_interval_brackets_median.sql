{% test median_interval_brackets_median(model, key_columns) %}
{#-
    The 95 % interval of the median of a price-metrics mart: fails on every
    group-week (key_columns, market_week) where
    median_ci_low_usd <= median_price_usd <= median_ci_high_usd does not hold,
    where an end lies outside the valid price bounds [100, 10,000,000] (the
    ends are listing prices), or where the interval is not set exactly when
    n_priced >= 6.
-#}
select
    {%- for key in key_columns %}
    {{ key }},
    {%- endfor %}
    market_week,
    n_priced,
    median_ci_low_usd,
    median_price_usd,
    median_ci_high_usd
from {{ model }}
where
    (n_priced >= 6) <> (median_ci_low_usd is not null)
    or (n_priced >= 6) <> (median_ci_high_usd is not null)
    or median_ci_low_usd < 100
    or median_ci_high_usd > 10000000
    or median_ci_low_usd > median_price_usd
    or median_price_usd > median_ci_high_usd
{% endtest %}
