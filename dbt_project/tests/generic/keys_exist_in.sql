{% test keys_exist_in(model, columns, to, to_columns=none) %}
{#-
    Multi-column relationship: fails once per distinct key of `model`
    (columns) with no row in `to` (to_columns, default the same names).
    Rows with a null key column are ignored.
-#}
{%- set to_columns = to_columns or columns -%}
select distinct
    {%- for column in columns %}
    child.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ model }} as child
where
    {%- for column in columns %}
    child.{{ column }} is not null and
    {%- endfor %}
    not exists (
        select 1
        from {{ to }} as parent
        where
            {%- for column in columns %}
            parent.{{ to_columns[loop.index0] }} = child.{{ column }}{{ ' and' if not loop.last }}
            {%- endfor %}
    )
{% endtest %}
