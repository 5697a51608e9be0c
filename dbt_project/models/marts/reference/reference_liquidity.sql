{{ liquidity_metrics(
    key_columns=['brand', 'reference_number'],
    spell_weeks=ref('int_listing_spell_weeks'),
    closed_spells=ref('int_listing_spells_closed'),
    ingest_runs=ref('stg_raw__ingest_runs'),
) }}
