"""SQLAlchemy 2 tables. Times are stored in UTC and always come back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    true,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")

patients = Table(
    "patients",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("phone", String(20), nullable=True, unique=True),
    Column("telegram_chat_id", BigInteger, nullable=True, unique=True),
    Column("tz", String(64), nullable=False),
    Column("language", String(10), nullable=False),
    Column("discreet", Boolean, nullable=False, default=False),
    Column("can_become_pregnant", Boolean, nullable=False, default=False),
    Column("partner_can_become_pregnant", Boolean, nullable=False, default=False),
    Column("rules", String(10), nullable=False),
    Column("opted_out_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # One gentle "did you take it?" when a dose goes unanswered; a patient may turn it off.
    Column("follow_ups", Boolean, nullable=False, default=True, server_default=true()),
    # US REMS: pregnancy tests every 2 weeks instead of 4 when periods are not regular.
    Column("irregular_periods", Boolean, nullable=False, default=False, server_default=false()),
)

courses = Table(
    "courses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, unique=True
    ),
    Column("start_date", Date, nullable=False),
    Column("dose_time", Time, nullable=False),
    Column("regimen", String(200), nullable=False),
    Column("end_date", Date, nullable=True),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    # When end_date was last set: after-treatment messages due before then go at once.
    Column("end_recorded_at", UTCDateTime, nullable=True),
)

# A dose-time change keeps the time the days before it had: doses before ``until_date``
# (a local date) were at ``dose_time``. The course row holds the time in force now.
dose_times = Table(
    "dose_times",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("until_date", Date, nullable=False),
    Column("dose_time", Time, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

holds = Table(
    "holds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=True),
    Column("reason", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resumed_at", UTCDateTime, nullable=True),
)

cycle_delays = Table(
    "cycle_delays",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("cycle", Integer, nullable=False),
    Column("days", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("note", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("course_id", "kind", "on_date", name="uq_appointments_course_kind_date"),
)

# The outbox: one row per message, unique per (patient, key). Planned reminders use the key
# "<kind>:<local date>", so a day can never get two of the same reminder.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("local_time", String(5), nullable=False),
    Column("cycle", Integer, nullable=True),
    Column("day", Integer, nullable=True),
    Column("text", Text, nullable=False),
    Column("priority", SmallInteger, nullable=False, default=5),
    Column("status", String(12), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("channel", String(10), nullable=True),
    Column("provider_id", String(64), nullable=True),
    Column("delivery_status", String(20), nullable=True),
    Column("callback_token", String(43), nullable=True, unique=True),
    Column("last_error", String(300), nullable=True),
    # An earlier attempt may have reached the provider unanswered (a timeout, a crash between
    # the send and its record): the channel looks for it there before sending again (H11).
    Column("maybe_sent", Boolean, nullable=False, default=False, server_default=false()),
    # Why a row was cancelled (a dose recorded, the plan changed, opted out...).
    Column("reason", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("patient_id", "key", name="uq_outbox_patient_key"),
    Index("ix_outbox_claim", "status", "priority", "next_attempt_at", "id"),  # claim order
    # One patient's rows are found through uq_outbox_patient_key (patient_id first): no index
    # of its own (migration 0005).
)

dose_records = Table(
    "dose_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("local_date", Date, nullable=False),
    Column("status", String(12), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("patient_id", "local_date", name="uq_dose_records_patient_date"),
)

# Nurses allowed to use nurse commands on Telegram (besides NURSE_TELEGRAM_IDS).
nurses = Table(
    "nurses",
    metadata,
    Column("telegram_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# One-time Telegram link codes: only a hash is stored, so a database leak links nobody.
link_codes = Table(
    "link_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("used_by_chat", BigInteger, nullable=True),
)

# Wrong link codes per chat, for throttling guessers.
link_failures = Table(
    "link_failures",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("chat_id", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_link_failures_chat_at", "chat_id", "at"),
)

# What patients wrote, exactly as received (for the team, and for `patients forget`).
inbound = Table(
    "inbound",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("channel", String(10), nullable=False),
    Column("text", Text, nullable=False),
    # The intent, or "menu:<topic ids>" when we answered with a numbered menu.
    Column("intent", String(200), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# Alerts for the nurses (red flags, opt-outs, failed deliveries): a record even if no nurse
# chat is configured, and the source of what is sent to nurse chats. An urgent one (a red
# flag, an extra capsule: scheduler.domain.alerts) also goes by SMS to ALERT_SMS_TO and is
# sent again, once, if nobody acknowledged it in time (``escalated_at``).
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("urgent", Boolean, nullable=False, default=False, server_default=false()),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(80), nullable=True),
    Column("ack_note", String(500), nullable=True),
    Column("assigned_to", String(80), nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    # The open ones, newest first: the console's list and the escalation job.
    Index("ix_alerts_open", "acknowledged_at", "created_at"),
)

# Who changed what, and the values before and after (JSON text). Append-only: triggers refuse
# UPDATE and DELETE (and TRUNCATE on PostgreSQL). No foreign key, so nothing cascades into it,
# and no personal data (scheduler.domain.audit), so erasing a patient leaves it as it is.
audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    # staff:<id>, cli:<os user>, telegram:<user id> or system
    Column("actor", String(80), nullable=False),
    Column("action", String(20), nullable=False),
    Column("patient_id", String(16), nullable=True),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Index("ix_audit_patient_id", "patient_id", "id"),
    Index("ix_audit_at", "at"),
)

APPEND_ONLY = "audit rows are append-only"
# The same statements make the triggers in migration 0007 and in ``metadata.create_all``.
AUDIT_TRIGGERS_SQLITE = tuple(
    f"CREATE TRIGGER audit_no_{what} BEFORE {what.upper()} ON audit "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
    for what in ("update", "delete")
)
AUDIT_TRIGGERS_POSTGRESQL = (
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    f"$fn$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}' "
    "USING ERRCODE = 'integrity_constraint_violation'; END $fn$",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
)
for _dialect, _statements in (
    ("sqlite", AUDIT_TRIGGERS_SQLITE), ("postgresql", AUDIT_TRIGGERS_POSTGRESQL)
):  # fmt: skip
    for _statement in _statements:
        _ddl = DDL(_statement)  # type: ignore[no-untyped-call]
        event.listen(audit, "after_create", _ddl.execute_if(dialect=_dialect))

# The care-team console (bot/web/console/): staff accounts, their sessions and one-time
# set-password links. Emails are stored lower-cased; a session id and a link token are stored
# only as their SHA-256, so a database leak opens no session and sets no password.
staff = Table(
    "staff",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("role", String(10), nullable=False),  # nurse | admin
    Column("password_hash", String(200), nullable=True),  # None until a password is set
    Column("totp_secret", String(64), nullable=True),
    # The last 30-second step a code was accepted for: a code is never accepted twice.
    Column("totp_last_step", BigInteger, nullable=True),
    Column("disabled_at", UTCDateTime, nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie's token
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("csrf", String(64), nullable=False),
)

set_password_tokens = Table(
    "set_password_tokens",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

# Telegram's inbound updates, stored before the webhook answers 200 (or before a polled batch
# is confirmed), then claimed and handled once each, in order per chat (scheduler/store/inbox).
telegram_inbox = Table(
    "telegram_inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("update_id", BigInteger, nullable=False, unique=True),  # a repeat is a no-op
    Column("chat_id", BigInteger, nullable=True),
    Column("raw", Text, nullable=False),  # the update's JSON as Telegram sent it
    Column("received_at", UTCDateTime, nullable=False),
    Column("status", String(10), nullable=False),  # pending | claimed | done | failed
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("done_at", UTCDateTime, nullable=True),
    Index("ix_telegram_inbox_chat", "status", "chat_id", "update_id"),
    Index("ix_telegram_inbox_done", "status", "done_at"),  # pruning done rows
)

# What handling a Telegram update has done that must not be done twice (the conversation's
# work, each reply sent, each nurse alert pushed): step n of update u, with its result.
telegram_steps = Table(
    "telegram_steps",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("step", Integer, primary_key=True, autoincrement=False),
    Column("result", Text, nullable=False),
    Column("done_at", UTCDateTime, nullable=False),
)

# Long polling's next getUpdates offset (one row, id 1): a restart neither loses nor repeats.
telegram_offset = Table(
    "telegram_offset",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
