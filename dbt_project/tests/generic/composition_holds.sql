{% test composition_holds(model, key_columns) %}
{#-
    Every rule of a `<level>_composition` mart that needs no other model: one
    row per group-week, non-null keys, n_listings >= 1, counts not negative,
    shares that are fractions, new + pre-owned + unknown = n_listings, the
    condition counts adding up to n_listings and their shares to 1.
-#}
{%- set categories = condition_categories() -%}
{%- set rules = key_rules(key_columns) + [
    ('n_listings >= 1', 'n_listings >= 1'),
    ('n_new + n_preowned + n_unknown = n_listings', 'n_new + n_preowned + n_unknown = n_listings'),
] -%}
{%- set counts = [] -%}
{%- set shares = [] -%}
{%- for category in categories %}
    {%- do counts.append('n_' ~ category) -%}
    {%- do shares.append('pct_' ~ category) -%}
{%- endfor %}
{%- do rules.append(('condition counts add up to n_listings', counts | join(' + ') ~ ' = n_listings')) -%}
{%- do rules.append(('condition shares add up to 1', 'abs(' ~ shares | join(' + ') ~ ' - 1) <= 0.000000001')) -%}
{%- for column in counts + ['n_preowned'] %}
    {%- do rules.append((column ~ ' >= 0', column ~ ' >= 0')) -%}
{%- endfor %}
{%- for column in shares + ['pct_preowned'] %}
    {%- do rules.append((column ~ ' within [0, 1]', column ~ ' between 0 and 1')) -%}
{%- endfor %}
{{ failing_rules(model, rules, [
    ('one row per group-week', test_unique_combination_of_columns(model, key_columns + ['market_week'])),
]) }}
{% endtest %}
