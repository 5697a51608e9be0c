with

ingest_runs as (

    select * from {{ source('raw', 'ingest_runs') }}

),

renamed as (

    select
        run_id as ingest_run_id,
        market_week,
        source_root,
        scrape_dates,
        started_at,
        finished_at,
        duration_s,
        status,
        files_total,
        files_loaded,
        files_empty,
        files_rejected,
        rows_read,
        rows_loaded,
        rows_quarantined,
        rows_duplicate,
        rows_outlier,
        quarantined_by_reason,
        code_version,
        error as error_message

    from ingest_runs

)

select * from renamed
