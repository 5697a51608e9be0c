{% test price_metrics_hold(model, key_columns) %}
{#-
    Every rule of a `<level>_price_metrics` mart that needs no other model:
    one row per group-week (key_columns, market_week), non-null keys, counts
    (1 <= n_listings, 0 <= n_priced <= n_listings), a median exactly when a
    listing is priced and then a market price, prices within the valid bounds,
    changes above -100 %, the price band ordered, the median's interval around
    the median, and the confidence class of n_priced.
-#}
{%- set rules = key_rules(key_columns) + [
    ('n_listings >= 1', 'n_listings >= 1'),
    ('0 <= n_priced <= n_listings', 'n_priced between 0 and n_listings'),
    ('median exactly when priced', '(median_price_usd is null) = (n_priced = 0)'),
    ('market price when median', 'median_price_usd is null or market_price_usd is not null'),
] + price_rules() -%}
{{ failing_rules(model, rules, [
    ('one row per group-week', test_unique_combination_of_columns(model, key_columns + ['market_week'])),
    ('price band ordered', test_price_bands_ordered(model, key_columns)),
    ('median interval brackets the median', test_median_interval_brackets_median(model, key_columns)),
    ('confidence follows n_priced', test_confidence_follows_n_priced(model, key_columns)),
]) }}
{% endtest %}
