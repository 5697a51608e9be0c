{{ price_index_links(
    key_columns=[],
    reference_weeks=ref('int_reference_weeks_aggregated'),
) }}
