{% macro recompute_from_week(reprocess_latest=true) %}
    {#-
        The first market week ('YYYY-MM-DD') the current incremental run
        recomputes, or none when the model is built in full (first build,
        --full-refresh, empty table, or not executing).

        = least(Monday of var('from_week'), max(market_week) already in the model):
        the latest built week is always reprocessed, every later week is
        (re)built, and a from_week in the past rebuilds that week and all
        later ones. A from_week beyond the latest built week cannot leave a gap.

        reprocess_latest=false (a model whose rows of a week depend only on
        that week and earlier ones, and that is costly to rewrite): with
        from_week set, least(Monday of from_week, latest + 7 days), so the
        weekly run of the week after the latest one leaves the latest alone;
        without from_week, still the latest week.
    -#}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}

    {%- set latest_query -%}
        select max(market_week) as latest_week from {{ this }}
    {%- endset -%}
    {%- set latest = run_query(latest_query).columns[0].values()[0] -%}
    {%- if latest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set latest = modules.datetime.date.fromisoformat((latest | string)[:10]) -%}

    {%- set requested = var('from_week', none) -%}
    {%- if requested is none or (requested | string | trim) in ('', 'None', 'null') -%}
        {{ return(latest.isoformat()) }}
    {%- endif -%}
    {%- set requested = requested | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', requested[:10]) -%}
        {{ exceptions.raise_compiler_error("var from_week must be a date YYYY-MM-DD, got '" ~ requested ~ "'") }}
    {%- endif -%}
    {%- set requested = modules.datetime.date.fromisoformat(requested[:10]) -%}
    {%- set requested_monday = requested - modules.datetime.timedelta(days=requested.weekday()) -%}

    {%- if not reprocess_latest -%}
        {{ return([requested_monday, latest + modules.datetime.timedelta(days=7)] | min | string) }}
    {%- endif -%}
    {{ return([requested_monday, latest] | min | string) }}
{% endmacro %}
