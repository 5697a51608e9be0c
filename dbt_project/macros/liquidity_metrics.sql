{% macro liquidity_metrics(key_columns, spell_weeks, closed_spells, ingest_runs) %}
    {#-
        Weekly supply and liquidity of one aggregation level: new and ended
        listings, sell-through, price cuts (the flows, null when the week
        before was not loaded) and the Kaplan-Meier median weeks on market of
        the group's spells opened in the last 52 weeks.

        One row per group per loaded market week in which the group has
        listings, or had listings in the week before (its ended listings are
        learnt this week). Output weeks >= recompute_from_week(); reads the
        spell weeks from one week earlier and the spells that closed in the
        52 weeks before (a spell counts at t when its first week lies in
        (t - 52 weeks, t]), so the cost of a weekly run does not grow with
        the length of history beyond a year.
    -#}
    {%- set keys = key_columns | join(', ') %}
    {%- set spell_keys = [] %}
    {%- for key in key_columns %}{% do spell_keys.append('spell_' ~ key) %}{% endfor %}
with

spell_weeks as (

    select * from {{ spell_weeks }}
    where {{ incremental_week_filter(lookback_weeks=1) }}

),

closed_spells as (

    select * from {{ closed_spells }}
    where {{ incremental_week_filter(lookback_weeks=52) }}

),

ingest_runs as (

    select * from {{ ingest_runs }}

),

loaded_weeks as (

    select distinct market_week
    from ingest_runs
    where status = 'succeeded'

),

published_weeks as (

    -- the loaded weeks this run publishes that hold listings
    select distinct spell_weeks.market_week
    from spell_weeks
    inner join loaded_weeks
        on spell_weeks.market_week = loaded_weeks.market_week
    where {{ incremental_week_filter(column='spell_weeks.market_week') }}

),

current_counts as (

    select
        {{ keys }},
        market_week,
        count(*) filter (where not is_in_previous_week) as n_new_listings,
        count(*) filter (where is_in_previous_week) as n_in_both_weeks,
        count(*) filter (where is_price_cut) as n_price_cuts

    from spell_weeks
    where
        {{ incremental_week_filter() }}
        {%- for key in key_columns %}
        and {{ key }} is not null
        {%- endfor %}
    group by {{ keys }}, market_week

),

previous_counts as (

    -- the group's listings of the week before, counted in the week after it
    select
        {{ keys }},
        cast(market_week + 7 as date) as market_week,
        count(*) as n_listings_previous

    from spell_weeks
    where
        {%- for key in key_columns %}
        {{ 'and ' if not loop.first }}{{ key }} is not null
        {%- endfor %}
    group by {{ keys }}, market_week

),

ended_counts as (

    -- listings of the group in the week before that are absent this week
    select
        {{ keys }},
        market_week,
        count(*) as n_ended_listings

    from closed_spells
    where
        {{ incremental_week_filter() }}
        {%- for key in key_columns %}
        and {{ key }} is not null
        {%- endfor %}
    group by {{ keys }}, market_week

),

group_weeks as (

    select
        {%- for key in key_columns %}
        coalesce(current_counts.{{ key }}, previous_counts.{{ key }}) as {{ key }},
        {%- endfor %}
        published_weeks.market_week,
        coalesce(current_counts.n_new_listings, 0) as n_new_listings,
        coalesce(current_counts.n_in_both_weeks, 0) as n_in_both_weeks,
        coalesce(current_counts.n_price_cuts, 0) as n_price_cuts,
        coalesce(previous_counts.n_listings_previous, 0) as n_listings_previous,
        coalesce(ended_counts.n_ended_listings, 0) as n_ended_listings,
        loaded_before.market_week is not null as is_previous_week_loaded

    from current_counts
    full outer join previous_counts
        on
            {%- for key in key_columns %}
            current_counts.{{ key }} = previous_counts.{{ key }}
            and {% endfor -%}
            current_counts.market_week = previous_counts.market_week
    inner join published_weeks
        on published_weeks.market_week = coalesce(current_counts.market_week, previous_counts.market_week)
    left join ended_counts
        on
            {%- for key in key_columns %}
            ended_counts.{{ key }} = coalesce(current_counts.{{ key }}, previous_counts.{{ key }})
            and {% endfor -%}
            ended_counts.market_week = published_weeks.market_week
    left join loaded_weeks as loaded_before
        on loaded_before.market_week = published_weeks.market_week - 7

),

closed_spell_counts as (

    select
        {{ spell_keys | join(', ') }},
        market_week,
        spell_first_week,
        spell_last_week,
        is_ended,
        count(*) as n_spells

    from closed_spells
    where
        {%- for key in spell_keys %}
        {{ 'and ' if not loop.first }}{{ key }} is not null
        {%- endfor %}
    group by {{ spell_keys | join(', ') }}, market_week, spell_first_week, spell_last_week, is_ended

),

spell_ages as (

    -- spells over by t (last week e < t): age (e - first) / 7 + 1, ended when
    -- the week after e was loaded, else censored at that age
    select
        {%- for key in key_columns %}
        closed_spell_counts.spell_{{ key }} as {{ key }},
        {%- endfor %}
        published_weeks.market_week,
        (closed_spell_counts.spell_last_week - closed_spell_counts.spell_first_week) / 7 + 1 as age_weeks,
        closed_spell_counts.is_ended,
        closed_spell_counts.n_spells

    from closed_spell_counts
    inner join published_weeks
        on
            closed_spell_counts.market_week <= published_weeks.market_week
            and closed_spell_counts.spell_first_week > published_weeks.market_week - 364

    union all

    -- spells still present at t: censored at age (t - first) / 7 + 1
    select
        {%- for key in key_columns %}
        spell_{{ key }} as {{ key }},
        {%- endfor %}
        market_week,
        (market_week - spell_first_week) / 7 + 1 as age_weeks,
        false as is_ended,
        count(*) as n_spells

    from spell_weeks
    where
        {{ incremental_week_filter() }}
        and spell_first_week > market_week - 364
        {%- for key in spell_keys %}
        and {{ key }} is not null
        {%- endfor %}
    group by {{ spell_keys | join(', ') }}, market_week, spell_first_week

),

age_counts as (

    select
        {{ keys }},
        market_week,
        age_weeks,
        sum(n_spells) as n_spells,
        coalesce(sum(n_spells) filter (where is_ended), 0) as n_ended

    from spell_ages
    group by {{ keys }}, market_week, age_weeks

),

at_risk as (

    select
        *,
        -- at_risk(a): the spells of age >= a
        sum(n_spells) over (
            partition by {{ keys }}, market_week order by age_weeks desc
            rows between unbounded preceding and current row
        ) as n_at_risk

    from age_counts

),

survival as (

    select
        *,
        -- S(a) = prod over b <= a of (1 - ended(b) / at_risk(b)), as a sum of
        -- logarithms in numeric arithmetic; a factor of 0 makes S 0 from there on
        bool_or(n_ended = n_at_risk) over age_order as is_survival_zero,
        sum(
            case when n_ended < n_at_risk then ln(1 - cast(n_ended as numeric) / n_at_risk) else 0 end
        ) over age_order as log_survival

    from at_risk
    window age_order as (
        partition by {{ keys }}, market_week order by age_weeks
        rows between unbounded preceding and current row
    )

),

weeks_on_market as (

    select
        {{ keys }},
        market_week,
        sum(n_spells) as n_spells,
        -- the smallest a with S(a) <= 0.5 (1e-12 absorbs the rounding of the
        -- logarithms, so that S = 0.5 exactly counts)
        min(age_weeks) filter (where is_survival_zero or log_survival <= ln(0.5) + 1e-12)
            as median_weeks_on_market

    from survival
    group by {{ keys }}, market_week

),

final as (

    select
        {%- for key in key_columns %}
        group_weeks.{{ key }},
        {%- endfor %}
        group_weeks.market_week,
        case when group_weeks.is_previous_week_loaded then cast(group_weeks.n_new_listings as integer) end
            as n_new_listings,
        case when group_weeks.is_previous_week_loaded then cast(group_weeks.n_ended_listings as integer) end
            as n_ended_listings,
        {{ to_ratio(
            'case when group_weeks.is_previous_week_loaded and group_weeks.n_listings_previous > 0'
            ~ ' then cast(group_weeks.n_ended_listings as numeric) / group_weeks.n_listings_previous end'
        ) }} as sell_through_rate,
        case when group_weeks.is_previous_week_loaded then cast(group_weeks.n_price_cuts as integer) end
            as n_price_cuts,
        {{ to_ratio(
            'case when group_weeks.is_previous_week_loaded and group_weeks.n_in_both_weeks > 0'
            ~ ' then cast(group_weeks.n_price_cuts as numeric) / group_weeks.n_in_both_weeks end'
        ) }} as pct_price_cut,
        cast(weeks_on_market.median_weeks_on_market as integer) as median_weeks_on_market,
        cast(coalesce(weeks_on_market.n_spells, 0) as integer) as n_spells

    from group_weeks
    left join weeks_on_market
        on
            {%- for key in key_columns %}
            group_weeks.{{ key }} = weeks_on_market.{{ key }}
            and {% endfor -%}
            group_weeks.market_week = weeks_on_market.market_week

)

select * from final
{%- endmacro %}
