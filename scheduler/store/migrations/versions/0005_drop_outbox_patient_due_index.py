"""drop the outbox's (patient_id, due_at) index

Every query of one patient's rows (a re-plan's read, the CLI's outbox list, cancelling,
forgetting) is served as well by the unique index on (patient_id, key), which starts with the
same column; the second index only cost its upkeep on every planned row inserted or updated:
a fifth of the index work of a planning pass (400k rows for 100k patients).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 21:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_patient_due", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_patient_due", "outbox", ["patient_id", "due_at"], unique=False)
