{{ aggregate_group_weeks(
    key_columns=['brand', 'specific_model'],
    listings=ref('int_listings_priced'),
) }}
