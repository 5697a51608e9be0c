{{ aggregate_group_weeks(
    key_columns=['brand', 'parent_model'],
    listings=ref('int_listings_priced'),
) }}
