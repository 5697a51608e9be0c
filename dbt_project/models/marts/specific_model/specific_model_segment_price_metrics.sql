{{ price_metrics(
    key_columns=['brand', 'specific_model', 'segment'],
    group_weeks=ref('int_specific_model_segment_weeks_unpivoted'),
    price_distribution=false,
) }}
