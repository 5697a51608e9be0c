"""The platform glue: what the Airflow DAGs call, the Airflow installation, the dbt environment."""
