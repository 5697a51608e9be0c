{% macro market_week_window(key_columns, start_days_before, end_days_before=0) %}
    {#-
        A window over one group's weeks by calendar distance:
        the rows whose market_week lies in [t - start_days_before, t - end_days_before].
        Missing weeks are simply absent from the frame (never zero-filled);
        an empty frame makes first_value/avg/stddev return null.
    -#}
    over (
        partition by {{ key_columns | join(', ') }}
        order by market_week
        range between interval '{{ start_days_before }} days' preceding
        and {% if end_days_before == 0 %}current row{% else %}interval '{{ end_days_before }} days' preceding{% endif %}
    )
{%- endmacro %}
