{% test liquidity_holds(model, key_columns) %}
{#-
    Every rule of a `<level>_liquidity` mart that needs no other model: one
    row per group-week, non-null keys, counts not negative, the flows null
    together (all of them need the week before), shares that are fractions
    and only with their flows, and a median time on market of 1 to 52 weeks
    only where spells were taken.
-#}
{%- set rules = key_rules(key_columns) + [
    ('flows null together', '(n_new_listings is null) = (n_ended_listings is null) and (n_new_listings is null) = (n_price_cuts is null)'),
    ('median weeks on market only with spells', 'median_weeks_on_market is null or n_spells > 0'),
    ('pct_price_cut only with the flows', 'pct_price_cut is null or n_price_cuts is not null'),
    ('median_weeks_on_market within [1, 52]', 'median_weeks_on_market between 1 and 52'),
] -%}
{%- for column in ['n_new_listings', 'n_ended_listings', 'n_price_cuts', 'n_spells'] %}
    {%- do rules.append((column ~ ' >= 0', column ~ ' >= 0')) -%}
{%- endfor %}
{%- for column in ['sell_through_rate', 'pct_price_cut'] %}
    {%- do rules.append((column ~ ' within [0, 1]', column ~ ' between 0 and 1')) -%}
{%- endfor %}
{{ failing_rules(model, rules, [
    ('one row per group-week', test_unique_combination_of_columns(model, key_columns + ['market_week'])),
]) }}
{% endtest %}
