with

quarantine as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    select
        market_week,
        scrape_date,
        source_file,
        line as source_line,
        reason,
        detail,
        source,
        listing_id,
        raw_row,
        ingest_run_id,
        line is null as is_file_rejection

    from quarantine

)

select * from renamed
