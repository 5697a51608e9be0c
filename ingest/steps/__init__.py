"""The weekly ingest, step by step: read, parse, clean, convert, dedup, outliers, validate, load."""
