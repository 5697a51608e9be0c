{% test segment_price_metrics_hold(model, key_columns) %}
{#-
    Every rule of a `<level>_segment_price_metrics` mart that needs no other
    model: one row per group-week-segment, non-null keys, a segment of `new`
    or `preowned` holding at least one priced listing, prices within the valid
    bounds, changes above -100 %, and the confidence class of n_priced.
-#}
{%- set rules = key_rules(key_columns) + [
    ('segment is new or preowned', "segment in ('new', 'preowned')"),
    ('n_priced >= 1', 'n_priced >= 1'),
    ('median present', 'median_price_usd is not null'),
] + price_rules() -%}
{{ failing_rules(model, rules, [
    ('one row per group-week-segment', test_unique_combination_of_columns(model, key_columns + ['market_week', 'segment'])),
    ('confidence follows n_priced', test_confidence_follows_n_priced(model, key_columns + ['segment'])),
]) }}
{% endtest %}
