{% test price_index_holds(model, key_columns=[]) %}
{#-
    Every rule of a price index (`brand_price_index`, key brand, or
    `market_price_index`, no key) that needs no other model: one row per
    group-week, non-null keys, a positive index value, n_matched_references
    not negative, a weekly link of exactly 1 below 3 matched references, and
    changes above -100 %.
-#}
{%- set rules = key_rules(key_columns) + [
    ('index_value > 0', 'index_value > 0'),
    ('n_matched_references >= 0', 'n_matched_references >= 0'),
    ('no link below 3 matched references', 'n_matched_references >= 3 or index_change_1w = 0'),
] -%}
{%- for suffix, weeks in metric_horizons() %}
    {%- do rules.append(('index_change_' ~ suffix ~ ' >= -1', 'index_change_' ~ suffix ~ ' >= -1')) -%}
{%- endfor %}
{{ failing_rules(model, rules, [
    ('one row per group-week', test_unique_combination_of_columns(model, key_columns + ['market_week'])),
]) }}
{% endtest %}
