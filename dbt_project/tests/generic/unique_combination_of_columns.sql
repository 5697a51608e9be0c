{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- Fails once per combination of the columns that occurs on more than one row. -#}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
