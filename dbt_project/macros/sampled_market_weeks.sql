{% macro sampled_market_weeks(relation) %}
    {#-
        The market weeks the re-computation tests check: the latest
        var('test_sample_weeks') weeks up to max(market_week) of `relation`,
        and only weeks >= the Monday of var('from_week') when it is set (the
        weekly run checks the weeks it rebuilt). Generated from max(market_week)
        alone (an index lookup on raw.listings), so the cost does not grow with
        the length of history.
    -#}
    {%- set from_week = var('from_week', none) -%}
    {%- if from_week is not none and (from_week | string | trim) not in ('', 'None', 'null') -%}
        {%- set requested = modules.datetime.date.fromisoformat((from_week | string | trim)[:10]) -%}
        {%- set since = requested - modules.datetime.timedelta(days=requested.weekday()) -%}
    {%- else -%}
        {%- set since = none -%}
    {%- endif %}
    select cast(latest.market_week - 7 * week_offset.n as date) as market_week
    from (select max(market_week) as market_week from {{ relation }}) as latest
    cross join generate_series(0, {{ var('test_sample_weeks') }} - 1) as week_offset (n)
    {%- if since is not none %}
    where latest.market_week - 7 * week_offset.n >= '{{ since.isoformat() }}'::date
    {%- endif %}
{%- endmacro %}
