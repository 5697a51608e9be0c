{% macro median_ci_rank(n, end) %}
    {#-
        The 1-based rank, as an integer, of an end of the distribution-free
        95 % interval of the median among n sorted prices, in exact numeric
        arithmetic (a float could move a rank by one where n/2 -+ 0.98 sqrt(n)
        is an integer, e.g. n = 2500):
        low j = max(1, floor(n/2 - 0.98 sqrt(n))),
        high k = min(n, ceil(n/2 + 1 + 0.98 sqrt(n))).
    -#}
    {%- if end == 'low' -%}
        cast(greatest(1, floor({{ n }} / 2.0 - 0.98 * sqrt(cast({{ n }} as numeric)))) as integer)
    {%- elif end == 'high' -%}
        cast(least({{ n }}, ceil({{ n }} / 2.0 + 1 + 0.98 * sqrt(cast({{ n }} as numeric)))) as integer)
    {%- else -%}
        {{ exceptions.raise_compiler_error("median_ci_rank: end must be 'low' or 'high', got '" ~ end ~ "'") }}
    {%- endif -%}
{% endmacro %}
