{{ price_index(
    key_columns=[],
    links=ref('int_market_price_index_chained'),
) }}
