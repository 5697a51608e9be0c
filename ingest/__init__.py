"""watch-market: weekly luxury-watch listings into market intelligence (ingest, dbt metrics, Airflow)."""

__version__ = "0.1.0"
