{% macro to_ratio(expression) %}
    {#- A ratio (a fraction: 0.05 = 5 %) rounded to 10 decimal places, as numeric. -#}
    round(cast({{ expression }} as numeric), 10)
{%- endmacro %}
