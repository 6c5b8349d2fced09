"""Telegram inbox: updates stored before the webhook's 200; long polling's offset

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "telegram_inbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_inbox")),
        sa.UniqueConstraint("update_id", name=op.f("uq_telegram_inbox_update_id")),
    )
    with op.batch_alter_table("telegram_inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_telegram_inbox_chat", ["status", "chat_id", "update_id"], unique=False
        )
    op.create_table(
        "telegram_offset",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_offset")),
    )


def downgrade() -> None:
    op.drop_table("telegram_offset")
    with op.batch_alter_table("telegram_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_inbox_chat")
    op.drop_table("telegram_inbox")
