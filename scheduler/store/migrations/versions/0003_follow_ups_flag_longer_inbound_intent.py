"""follow-ups flag, longer inbound intent

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:42:06.121705
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.alter_column(
            "intent",
            existing_type=sa.VARCHAR(length=20),
            type_=sa.String(length=200),
            existing_nullable=True,
        )

    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("follow_ups", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("follow_ups")

    with op.batch_alter_table("inbound", schema=None) as batch_op:
        batch_op.alter_column(
            "intent",
            existing_type=sa.String(length=200),
            type_=sa.VARCHAR(length=20),
            existing_nullable=True,
        )
