"""The local runner: worker pools, the overlap of validation, staging and COPY, process tuning."""
