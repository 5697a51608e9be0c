{% test rollup_matches(model, column_name, to, group_by, to_column=none, comparison='=') %}
{#-
    Cross-level consistency: the sum of column_name over the rows of `model`
    in each group_by group must satisfy `<sum> <comparison> <to.to_column>`
    for the row of `to` with the same group_by values (e.g. the reference
    n_listings of a brand-week add up to the brand's n_listings). Fails once
    per group where it does not, including groups missing from `to`.
-#}
{%- set to_column = to_column or column_name -%}
with

child_sums as (

    select
        {{ group_by | join(', ') }},
        sum({{ column_name }}) as child_total
    from {{ model }}
    group by {{ group_by | join(', ') }}

),

parents as (

    select
        {{ group_by | join(', ') }},
        {{ to_column }} as parent_total
    from {{ to }}

)

select
    child_sums.*,
    parents.parent_total
from child_sums
left join parents using ({{ group_by | join(', ') }})
where not coalesce(child_sums.child_total {{ comparison }} parents.parent_total, false)
{% endtest %}
