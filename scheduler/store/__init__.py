"""SQLAlchemy adapters: engines, tables, migrations, repositories and the outbox.
SQLite (embedded default) and PostgreSQL, both tested."""
