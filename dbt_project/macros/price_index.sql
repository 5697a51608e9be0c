{% macro price_index(key_columns, links) %}
    {#-
        A price index mart from its chained links (price_index_links):
        index_value = 100 x exp(log_index) (100 in the group's first week),
        n_matched_references, index_change_1w = L(t) - 1 and index_change_1m
        .. _1y = index(t) / index(t - k weeks) - 1, null when the group has no
        index value exactly k weeks earlier. Output weeks >=
        recompute_from_week(); reads 52 weeks of look-back.
    -#}
    {%- set window_keys = key_columns if key_columns else ['true'] %}
with

links as (

    select * from {{ links }}
    where {{ incremental_week_filter(lookback_weeks=52) }}

),

earlier_indexes as (

    select
        *,
        {%- for suffix, weeks in metric_horizons() if weeks > 1 %}
        -- the chain exactly {{ weeks }} weeks earlier; null when the group had no row then
        first_value(log_index) {{ market_week_window(window_keys, weeks * 7, weeks * 7) }}
            as log_index_{{ suffix }}_earlier
        {{- ',' if not loop.last }}
        {%- endfor %}

    from links

),

final as (

    select
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        market_week,
        cast(round(100 * exp(log_index), 10) as numeric(30, 10)) as index_value,
        n_matched_references,
        {{ to_ratio('exp(log_link) - 1') }} as index_change_1w,
        {%- for suffix, weeks in metric_horizons() if weeks > 1 %}
        {{ to_ratio('exp(log_index - log_index_' ~ suffix ~ '_earlier) - 1') }} as index_change_{{ suffix }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from earlier_indexes
    where {{ incremental_week_filter() }}

)

select * from final
{%- endmacro %}
