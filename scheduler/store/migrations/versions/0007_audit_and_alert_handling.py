"""audit trail (append-only, enforced by triggers) and alert handling: urgent, acknowledged,
assigned, escalated

Alerts raised before this revision are marked urgent by kind (red flags and extra capsules,
as ``scheduler.domain.alerts.URGENT_KINDS`` says) and stay open until someone acknowledges
them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Frozen here: a migration must not change when the code's list does.
URGENT_KINDS = ("red_flag", "extra_capsule")
APPEND_ONLY = "audit rows are append-only"
TRIGGERS_SQLITE = tuple(
    f"CREATE TRIGGER audit_no_{what} BEFORE {what.upper()} ON audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    for what in ("update", "delete")
)
TRIGGERS_POSTGRESQL = (
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$fn$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}' "
    "USING ERRCODE = 'integrity_constraint_violation'; END $fn$",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
)


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("ack_note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_alerts_open", ["acknowledged_at", "created_at"], unique=False)
    alerts = sa.table("alerts", sa.column("kind", sa.String), sa.column("urgent", sa.Boolean))
    op.execute(alerts.update().where(alerts.c.kind.in_(URGENT_KINDS)).values(urgent=True))

    op.create_table(
        "audit",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("patient_id", sa.String(length=16), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index("ix_audit_patient_id", ["patient_id", "id"], unique=False)
        batch_op.create_index("ix_audit_at", ["at"], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in TRIGGERS_SQLITE if dialect == "sqlite" else TRIGGERS_POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_at")
        batch_op.drop_index("ix_audit_patient_id")
    op.drop_table("audit")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_open")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("assigned_to")
        batch_op.drop_column("ack_note")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("urgent")
