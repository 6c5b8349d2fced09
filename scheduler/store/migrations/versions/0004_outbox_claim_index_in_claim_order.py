"""outbox claim index in claim order

The claim takes the first due rows by (priority, next_attempt_at, id). With an index on
(status, next_attempt_at) only, every claim read and sorted all the due rows, so a burst of N
rows cost N^2/batch row visits (a 100k burst at 09:00 slowed as it went). In claim order the
database walks the index and stops after one batch.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.create_index(
        "ix_outbox_claim", "outbox", ["status", "priority", "next_attempt_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_claim", table_name="outbox")
    op.create_index("ix_outbox_claim", "outbox", ["status", "next_attempt_at"], unique=False)
