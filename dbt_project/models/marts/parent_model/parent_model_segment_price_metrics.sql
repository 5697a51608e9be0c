{{ price_metrics(
    key_columns=['brand', 'parent_model', 'segment'],
    group_weeks=ref('int_parent_model_segment_weeks_unpivoted'),
    price_distribution=false,
) }}
