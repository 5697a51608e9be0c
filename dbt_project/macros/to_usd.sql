{% macro to_usd(expression) %}
    {#- A USD amount rounded to the cent (half away from zero), as numeric(14, 2). -#}
    cast(round(cast({{ expression }} as numeric), 2) as numeric(14, 2))
{%- endmacro %}
