{{ aggregate_group_weeks(
    key_columns=['brand'],
    listings=ref('int_listings_priced'),
) }}
