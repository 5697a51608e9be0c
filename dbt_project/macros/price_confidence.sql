{% macro price_confidence(n_priced) %}
    {#-
        How far a group-week's prices can be trusted, from the number of
        non-outlier listings behind them: 'high' from 20, 'medium' from 5,
        'low' below 5 (also for none). Rankings shown to people keep only 'high'.
    -#}
    case
        when {{ n_priced }} >= 20 then 'high'
        when {{ n_priced }} >= 5 then 'medium'
        else 'low'
    end
{%- endmacro %}
