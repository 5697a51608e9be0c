{% test confidence_follows_n_priced(model, key_columns) %}
{#-
    Fails on every row (key_columns, market_week) whose confidence is not the
    class of its n_priced: 'high' from 20 priced listings, 'medium' from 5,
    'low' below (null or any other value fails too).
-#}
select
    {%- for key in key_columns %}
    {{ key }},
    {%- endfor %}
    market_week,
    n_priced,
    confidence
from {{ model }}
where
    confidence is distinct from (
        case
            when n_priced >= 20 then 'high'
            when n_priced >= 5 then 'medium'
            when n_priced >= 0 then 'low'
        end
    )
{% endtest %}
