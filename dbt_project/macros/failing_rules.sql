{% macro failing_rules(model, row_rules=[], tests=[]) %}
    {#-
        The body of a family generic test: one result row per rule that fails,
        with the number of rows (or groups) breaking it, so a failure names its
        rule. row_rules: (name, condition) pairs that must hold on every row of
        `model` (a null condition passes; checked in one scan). tests: (name,
        sql) pairs, each the SQL of another generic test whose rows are failures.
    -#}
    {%- set parts = [] -%}
    {%- if row_rules %}
        {%- set values -%}
            {%- for name, condition in row_rules %}
            ({{ dbt.string_literal(name) }}, {{ condition }}){{ ',' if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do parts.append(
            'select rule.name as failed_rule, count(*) as failing_rows from ' ~ model
            ~ ' cross join lateral (values ' ~ values ~ ') as rule (name, holds)'
            ~ ' where not rule.holds group by rule.name'
        ) -%}
    {%- endif %}
    {%- for name, sql in tests %}
        {%- do parts.append(
            'select ' ~ dbt.string_literal(name) ~ ' as failed_rule, count(*) as failing_rows from ('
            ~ sql ~ ') as failures having count(*) > 0'
        ) -%}
    {%- endfor %}
    {{ parts | join('\nunion all\n') }}
{% endmacro %}


{% macro key_rules(key_columns) %}
    {#- The row rules every mart keeps: its group key columns and market_week are never null. -#}
    {%- set rules = [] -%}
    {%- for column in key_columns + ['market_week'] %}
        {%- do rules.append((column ~ ' is not null', column ~ ' is not null')) -%}
    {%- endfor %}
    {{ return(rules) }}
{% endmacro %}


{% macro price_rules(prefix='') %}
    {#- Row rules shared by the price metrics and their segments: prices within the valid bounds, changes above -100 %. -#}
    {%- set rules = [] -%}
    {%- for column in ['median_price_usd', 'market_price_usd'] %}
        {%- do rules.append((column ~ ' within [100, 10,000,000]', column ~ ' between 100 and 10000000')) -%}
    {%- endfor %}
    {%- for suffix, weeks in metric_horizons() %}
        {%- do rules.append(('change_' ~ suffix ~ ' >= -1', 'change_' ~ suffix ~ ' >= -1')) -%}
    {%- endfor %}
    {{ return(rules) }}
{% endmacro %}
