{{ config(materialized='view') }}

{{ segment_weeks(
    key_columns=['brand', 'specific_model'],
    group_weeks=ref('int_specific_model_weeks_aggregated'),
) }}
