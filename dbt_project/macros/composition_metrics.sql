{% macro composition_metrics(key_columns, group_weeks) %}
    {#-
        Weekly market composition of one aggregation level from its weekly
        aggregate: listing counts by condition and their shares of n_listings.
        No look-back: each output week reads only its own aggregate row.
    -#}
with

group_weeks as (

    select * from {{ group_weeks }}
    where {{ incremental_week_filter() }}

),

final as (

    select
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        market_week,
        n_listings,
        n_new,
        n_preowned,
        {{ to_ratio('cast(n_new as numeric) / n_listings') }} as pct_new,
        {{ to_ratio('cast(n_preowned as numeric) / n_listings') }} as pct_preowned,
        {%- for category in condition_categories() if category != 'new' %}
        n_{{ category }},
        {{ to_ratio('cast(n_' ~ category ~ ' as numeric) / n_listings') }} as pct_{{ category }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from group_weeks

)

select * from final
{%- endmacro %}
