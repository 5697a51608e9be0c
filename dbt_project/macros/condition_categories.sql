{% macro condition_categories() %}
    {#- The nine condition categories of docs/metrics.md, in reporting order. -#}
    {{ return([
        'new',
        'unworn',
        'very_good',
        'good',
        'fair',
        'poor',
        'incomplete',
        'preowned_unspecified',
        'unknown',
    ]) }}
{% endmacro %}
