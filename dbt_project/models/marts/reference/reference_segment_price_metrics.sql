{{ price_metrics(
    key_columns=['brand', 'reference_number', 'segment'],
    group_weeks=ref('int_reference_segment_weeks_unpivoted'),
    price_distribution=false,
) }}
