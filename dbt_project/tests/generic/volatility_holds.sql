{% test volatility_holds(model, key_columns) %}
{#-
    Every rule of a `<level>_volatility` mart that needs no other model: one
    row per group-week, non-null keys, volatilities not negative, growth above
    -100 %.
-#}
{%- set rules = key_rules(key_columns) -%}
{%- for suffix, weeks in metric_horizons() if weeks > 1 %}
    {%- do rules.append(('volatility_' ~ suffix ~ ' >= 0', 'volatility_' ~ suffix ~ ' >= 0')) -%}
    {%- do rules.append(('growth_' ~ suffix ~ ' >= -1', 'growth_' ~ suffix ~ ' >= -1')) -%}
{%- endfor %}
{{ failing_rules(model, rules, [
    ('one row per group-week', test_unique_combination_of_columns(model, key_columns + ['market_week'])),
]) }}
{% endtest %}
