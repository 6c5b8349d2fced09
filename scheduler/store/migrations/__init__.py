"""Alembic migrations of the schema in scheduler/store/tables.py (`lenabot db upgrade`).
versions/ holds one revision per schema change, applied in order."""
