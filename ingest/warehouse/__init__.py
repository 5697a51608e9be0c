"""The warehouse: its tables (DDL), the atomic load of a week, connections, the embedded server."""
