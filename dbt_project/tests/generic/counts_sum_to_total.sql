{% test counts_sum_to_total(model, column_name, part_columns) %}
{#- Fails on every row where the part counts do not add up to the total in column_name. -#}
select *
from {{ model }}
where {{ column_name }} <> {{ part_columns | join(' + ') }}
{% endtest %}
