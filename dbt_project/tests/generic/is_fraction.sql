{% test is_fraction(model, column_name) %}
{#- Fails on every row where the column is not a fraction in [0, 1] (nulls pass). -#}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0 or {{ column_name }} > 1
{% endtest %}
