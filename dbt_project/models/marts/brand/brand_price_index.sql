{{ price_index(
    key_columns=['brand'],
    links=ref('int_brand_price_index_chained'),
) }}
