{{ price_metrics(
    key_columns=['brand', 'segment'],
    group_weeks=ref('int_brand_segment_weeks_unpivoted'),
    price_distribution=false,
) }}
