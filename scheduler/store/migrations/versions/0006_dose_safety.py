"""dose safety: why rows were cancelled, dose-time history, when an end was recorded,
irregular periods (US REMS)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=200), nullable=True))
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_recorded_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("irregular_periods", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "dose_times",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                  nullable=False),
        sa.Column("course_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("until_date", sa.Date(), nullable=False),
        sa.Column("dose_time", sa.Time(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"],
                                name=op.f("fk_dose_times_course_id_courses"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dose_times")),
    )  # fmt: skip
    with op.batch_alter_table("dose_times", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dose_times_course_id"), ["course_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dose_times", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dose_times_course_id"))
    op.drop_table("dose_times")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("irregular_periods")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("end_recorded_at")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("reason")
