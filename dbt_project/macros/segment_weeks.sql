{% macro segment_weeks(key_columns, group_weeks) %}
    {#-
        The new and pre-owned segments of a level's weekly aggregate, one row
        per group, market week and segment in which the group has at least one
        non-outlier listing of that segment: n_priced and the unrounded median
        of the segment. A view: a filter on market_week reaches the aggregate's
        index, so the segment marts read only the weeks they need.
    -#}
with

group_weeks as (

    select * from {{ group_weeks }}

),

segment_weeks as (

    select
        {%- for key in key_columns %}
        group_weeks.{{ key }},
        {%- endfor %}
        group_weeks.market_week,
        segments.segment,
        segments.n_priced,
        segments.median_price_usd

    from group_weeks
    cross join lateral (
        values
        ('new', group_weeks.n_new_priced, group_weeks.median_new_price_usd),
        ('preowned', group_weeks.n_preowned_priced, group_weeks.median_preowned_price_usd)
    ) as segments (segment, n_priced, median_price_usd)
    where segments.n_priced > 0

)

select * from segment_weeks
{%- endmacro %}
