{% macro preowned_condition_categories() %}
    {#- The categories that count as pre-owned (docs/metrics.md); `new` is brand new, `unknown` neither. -#}
    {{ return([
        'unworn',
        'very_good',
        'good',
        'fair',
        'poor',
        'incomplete',
        'preowned_unspecified',
    ]) }}
{% endmacro %}
