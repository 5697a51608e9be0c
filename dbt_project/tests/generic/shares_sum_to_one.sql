{% test shares_sum_to_one(model, share_columns, tolerance=0.000000001) %}
{#- Fails on every row whose shares (a partition of the whole) do not add up to 1 within the tolerance. -#}
select *
from {{ model }}
where abs(({{ share_columns | join(' + ') }}) - 1) > {{ tolerance }}
{% endtest %}
