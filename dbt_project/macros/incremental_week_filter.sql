{% macro incremental_week_filter(lookback_weeks=0, column='market_week', reprocess_latest=true) %}
    {#-
        A where-clause predicate on the market week: `true` on a full build,
        else `<column> >= '<recompute_from_week() - lookback_weeks>'::date`
        (a literal, so PostgreSQL prunes raw.listings partitions at plan time).
        reprocess_latest: passed to recompute_from_week().
    -#}
    {%- set start = recompute_from_week(reprocess_latest=reprocess_latest) -%}
    {%- if start is none -%}
        true
    {%- else -%}
        {%- set since = modules.datetime.date.fromisoformat(start) - modules.datetime.timedelta(weeks=lookback_weeks) -%}
        {{ column }} >= '{{ since.isoformat() }}'::date
    {%- endif -%}
{% endmacro %}
