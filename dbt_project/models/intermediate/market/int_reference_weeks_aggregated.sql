{{ aggregate_group_weeks(
    key_columns=['brand', 'reference_number'],
    listings=ref('int_listings_priced'),
) }}
