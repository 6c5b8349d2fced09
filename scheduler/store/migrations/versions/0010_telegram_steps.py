"""Telegram steps: what handling an update has done, so handling it again redoes none of it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_steps",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", "step", name=op.f("pk_telegram_steps")),
    )
    with op.batch_alter_table("telegram_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_telegram_inbox_done", ["status", "done_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("telegram_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_inbox_done")
    op.drop_table("telegram_steps")
