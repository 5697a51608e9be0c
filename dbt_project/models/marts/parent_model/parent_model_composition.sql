{{ composition_metrics(
    key_columns=['brand', 'parent_model'],
    group_weeks=ref('int_parent_model_weeks_aggregated'),
) }}
