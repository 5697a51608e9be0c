{{ config(materialized='view') }}

{{ segment_weeks(
    key_columns=['brand', 'parent_model'],
    group_weeks=ref('int_parent_model_weeks_aggregated'),
) }}
