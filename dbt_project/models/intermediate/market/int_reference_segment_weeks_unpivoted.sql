{{ config(materialized='view') }}

{{ segment_weeks(
    key_columns=['brand', 'reference_number'],
    group_weeks=ref('int_reference_weeks_aggregated'),
) }}
