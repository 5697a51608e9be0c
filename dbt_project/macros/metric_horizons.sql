{% macro metric_horizons() %}
    {#- The look-back horizons of the change, volatility and growth metrics: (suffix, weeks). -#}
    {{ return([
        ('1w', 1),
        ('1m', 4),
        ('3m', 13),
        ('6m', 26),
        ('1y', 52),
    ]) }}
{% endmacro %}
