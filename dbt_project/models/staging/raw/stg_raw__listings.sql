with

listings as (

    select * from {{ source('raw', 'listings') }}

),

renamed as (

    select
        market_week,
        source,
        listing_id,
        scrape_date,
        scraped_at,
        brand,
        reference_number,
        nullif(trim(specific_model), '') as specific_model,
        nullif(trim(parent_model), '') as parent_model,
        model_resolved_from,
        condition,
        condition_raw,
        currency,
        price_local,
        usd_per_unit,
        price_usd,
        is_outlier,
        seller_type,
        country,
        source_file,
        source_line,
        ingest_run_id

    from listings

)

select * from renamed
