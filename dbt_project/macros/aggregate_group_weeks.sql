{% macro aggregate_group_weeks(key_columns, listings) %}
    {#-
        Weekly aggregate of one aggregation level: one row per group per
        market week with listings. Groups with a null key column are excluded.
        Reads only the listings of the recomputed weeks (no look-back needed).
    -#}
with

listings as (

    select * from {{ listings }}
    where {{ incremental_week_filter() }}

),

group_weeks as (

    select
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        market_week,
        cast(count(*) as integer) as n_listings,
        cast(count(*) filter (where is_priced) as integer) as n_priced,
        percentile_cont(0.5) within group (
            order by cast(price_usd as double precision)
        ) filter (where is_priced) as median_price_usd,
        cast(count(*) filter (where is_new) as integer) as n_new,
        cast(count(*) filter (where is_preowned) as integer) as n_preowned,
        {%- for category in condition_categories() if category != 'new' %}
        cast(count(*) filter (where condition = '{{ category }}') as integer) as n_{{ category }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from listings
    where
        {%- for key in key_columns %}
        {{ 'and ' if not loop.first }}{{ key }} is not null
        {%- endfor %}
    group by
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        market_week

)

select * from group_weeks
{%- endmacro %}
