{% test not_negative(model, column_name) %}
{#- Fails on every row where the column is negative (nulls pass). -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% endtest %}
