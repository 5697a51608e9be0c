{{ config(materialized='view') }}

{{ segment_weeks(
    key_columns=['brand'],
    group_weeks=ref('int_brand_weeks_aggregated'),
) }}
