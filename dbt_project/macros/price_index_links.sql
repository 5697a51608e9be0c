{% macro price_index_links(key_columns, reference_weeks) %}
    {#-
        The chained Jevons links of a price index: one row per index group
        (key_columns: ['brand'] for the brand index, [] for the whole market)
        per market week in which the group has references with listings.

        A reference is matched at t when it has a median from at least 5
        non-outlier listings in t and in t - 1 week; the link L(t) is the
        geometric mean of the matched median relatives, 1 below 3 matched.
        log_index(t) = the sum of ln L over the group's weeks up to t, in
        numeric arithmetic (exact sums: a weekly run that continues the
        chain from the stored value gives the same digits as a full build).
        Incremental: reads the reference weeks of the recomputed weeks and of
        the week before, and the last stored log_index of each group before
        them, so a weekly run does not recompute the chain's history.
    -#}
    {%- set start = recompute_from_week() %}
    {%- set partition = ('partition by ' ~ (key_columns | join(', '))) if key_columns else '' %}
    {%- set links_partition = ('partition by links.' ~ (key_columns | join(', links.'))) if key_columns else '' %}
with

reference_weeks as (

    select * from {{ reference_weeks }}
    where {{ incremental_week_filter(lookback_weeks=1) }}

),

{%- if start is not none %}

chain_before as (

    -- each group's chain as stored in its latest week before the recomputed ones
    select
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        log_index

    from (
        select
            *,
            row_number() over ({{ partition }} order by market_week desc) as recency
        from {{ this }}
        where market_week < '{{ start }}'::date
    ) as stored
    where recency = 1

),
{%- endif %}

matched_relatives as (

    select
        {%- for key in key_columns %}
        this_week.{{ key }},
        {%- endfor %}
        this_week.market_week,
        ln(cast(this_week.median_price_usd as numeric) / cast(week_before.median_price_usd as numeric))
            as log_relative

    from reference_weeks as this_week
    inner join reference_weeks as week_before
        on
            this_week.brand = week_before.brand
            and this_week.reference_number = week_before.reference_number
            and week_before.market_week = this_week.market_week - 7
    where this_week.n_priced >= 5 and week_before.n_priced >= 5

),

link_inputs as (

    select
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        market_week,
        count(*) as n_matched_references,
        avg(log_relative) as mean_log_relative

    from matched_relatives
    group by {{ (key_columns + ['market_week']) | join(', ') }}

),

group_weeks as (

    select distinct
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        market_week

    from reference_weeks
    where {{ incremental_week_filter() }}

),

links as (

    select
        {%- for key in key_columns %}
        group_weeks.{{ key }},
        {%- endfor %}
        group_weeks.market_week,
        cast(coalesce(link_inputs.n_matched_references, 0) as integer) as n_matched_references,
        -- ln L(t): 0 (L = 1) below 3 matched references; a fixed scale keeps the chain's sums exact
        cast(
            case when link_inputs.n_matched_references >= 3 then link_inputs.mean_log_relative else 0 end
            as numeric(40, 20)
        ) as log_link

    from group_weeks
    left join link_inputs
        on
            {%- for key in key_columns %}
            group_weeks.{{ key }} = link_inputs.{{ key }} and
            {%- endfor %}
            group_weeks.market_week = link_inputs.market_week

),

final as (

    select
        {%- for key in key_columns %}
        links.{{ key }},
        {%- endfor %}
        links.market_week,
        links.n_matched_references,
        links.log_link,
        {%- if start is not none %}
        cast(
            coalesce(chain_before.log_index, 0)
            + sum(links.log_link) over ({{ links_partition }} order by links.market_week)
            as numeric(40, 20)
        ) as log_index
        {%- else %}
        cast(sum(links.log_link) over ({{ links_partition }} order by links.market_week) as numeric(40, 20))
            as log_index
        {%- endif %}

    from links
    {%- if start is not none %}
    left join chain_before
        on {% for key in key_columns %}{{ 'and ' if not loop.first }}links.{{ key }} = chain_before.{{ key }}{% else %}true{% endfor %}
    {%- endif %}

)

select * from final
{%- endmacro %}
