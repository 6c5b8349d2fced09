"""Alembic revisions, oldest first; each names the change it makes.
Never edited once released: a fix is a new revision."""
