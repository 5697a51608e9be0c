{% test expression_is_true(model, expression, column_name=none) %}
{#- Fails on every row where the boolean SQL expression is not true (false or null). -#}
select *
from {{ model }}
where not coalesce(({{ column_name ~ ' ' if column_name }}{{ expression }}), false)
{% endtest %}
