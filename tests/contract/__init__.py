"""Contract tests: the store's adapters against SQLite and PostgreSQL alike."""
