{{ price_index_links(
    key_columns=['brand'],
    reference_weeks=ref('int_reference_weeks_aggregated'),
) }}
