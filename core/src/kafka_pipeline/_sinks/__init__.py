"""Sinks: where the standard processing stores results (the Delta Lake writer, its rows and schema)."""
