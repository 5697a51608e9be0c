{% macro record_run_results(results) %}
    {#-
        on-run-end hook: append one row per node result of this invocation to
        <target schema>_audit.dbt_run_results (schema and table created when
        missing). Records build, run, test, seed, snapshot, retry and source
        freshness. Renders to nothing -- and so does nothing -- when there are
        no results or for the other commands (parse, compile, docs, ...).
    -#}
    {%- set recorded_commands = ['build', 'run', 'test', 'seed', 'snapshot', 'retry', 'source', 'freshness'] -%}
    {%- if not execute or not results or flags.WHICH not in recorded_commands -%}
        {{ return('') }}
    {%- endif -%}
    {%- set audit_schema = target.schema ~ '_audit' -%}
    {%- set rows = [] -%}
    {%- for result in results -%}
        {%- set node = result.node -%}
        {%- set message = dbt.string_literal(dbt.escape_single_quotes(result.message | string)) if result.message is not none else 'null' -%}
        {%- do rows.append(
            "("
            ~ dbt.string_literal(invocation_id) ~ ", "
            ~ dbt.string_literal(run_started_at | string) ~ "::timestamptz, "
            ~ dbt.string_literal(flags.WHICH) ~ ", "
            ~ dbt.string_literal(node.unique_id) ~ ", "
            ~ dbt.string_literal(node.resource_type | string) ~ ", "
            ~ dbt.string_literal(result.status | string) ~ ", "
            ~ (result.failures | int if result.failures is not none else 'null') ~ ", "
            ~ (result.execution_time or 0) ~ ", "
            ~ message ~ ", "
            ~ dbt.string_literal(target.name) ~ ", "
            ~ dbt.string_literal(target.schema)
            ~ ")"
        ) -%}
    {%- endfor -%}

    create schema if not exists {{ audit_schema }};

    create table if not exists {{ audit_schema }}.dbt_run_results (
        invocation_id text not null,
        run_started_at timestamptz not null,
        command text not null,
        node_unique_id text not null,
        resource_type text not null,
        status text not null,
        failures integer,
        execution_time_s double precision,
        message text,
        target_name text not null,
        target_schema text not null,
        recorded_at timestamptz not null default now()
    );

    insert into {{ audit_schema }}.dbt_run_results (
        invocation_id, run_started_at, command, node_unique_id, resource_type, status,
        failures, execution_time_s, message, target_name, target_schema
    )
    values
        {{ rows | join(',\n        ') }};

    commit;
{%- endmacro %}
