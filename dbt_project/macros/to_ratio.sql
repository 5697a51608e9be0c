{% macro to_ratio(expression, precision=20) %}
    {#- A ratio (a fraction: 0.05 = 5 %) rounded to 10 decimal places, as numeric(precision, 10). -#}
    cast(round(cast({{ expression }} as numeric), 10) as numeric({{ precision }}, 10))
{%- endmacro %}
