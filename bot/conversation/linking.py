"""One-time Telegram link codes: issue, redeem, and throttle guessers.

A nurse gets a deep link ``https://t.me/<bot>?start=<code>`` for a Telegram patient. Opening it
sends ``/start <code>`` from the patient's own chat, which ties that chat to the patient; a
phone number is never trusted for this. Codes are random (128 bits from ``secrets``), single
use and expire after 7 days. Only their SHA-256 is stored, so a copy of the database links
nobody. A chat that sends 5 wrong codes within an hour is refused without any check.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from scheduler.domain.audit import SYSTEM
from scheduler.ports import AuditLog
from scheduler.store import tables as t
from scheduler.store.audit import SqlAlchemyAudit
from scheduler.store.db import unit_of_work

CODE_TTL = timedelta(days=7)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
# What Telegram allows in a deep-link start parameter; anything else is not one of ours.
_CODE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class Outcome(enum.StrEnum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"  # this chat opened this same link before
    WRONG = "wrong"
    USED = "used"
    EXPIRED = "expired"
    THROTTLED = "throttled"
    CHAT_TAKEN = "chat_taken"  # this chat already belongs to another patient


@dataclass(frozen=True)
class Redemption:
    outcome: Outcome
    patient_id: str | None = None

    @property
    def linked(self) -> bool:
        return self.outcome is Outcome.LINKED


def new_code() -> str:
    return secrets.token_urlsafe(16)  # 22 characters from [A-Za-z0-9_-]


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


class LinkCodes:
    """The ``link_codes`` and ``link_failures`` tables, and ``patients.telegram_chat_id``.

    Issuing a link (by a nurse) and a chat being linked (by the patient opening it: actor
    ``system``, never the chat id) each append an audit row ``link`` in their transaction.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl: timedelta = CODE_TTL,
        max_failures: int = MAX_FAILURES,
        window: timedelta = FAILURE_WINDOW,
        audit: AuditLog | None = None,
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.max_failures = max_failures
        self.window = window
        self.audit = audit if audit is not None else SqlAlchemyAudit(engine)

    async def issue(self, patient_id: str, now: datetime, *, actor: str = SYSTEM) -> str:
        """A new code for the patient; any unused older code stops working."""
        code = new_code()
        async with unit_of_work(self.engine) as conn:
            await conn.execute(
                delete(t.link_codes).where(
                    t.link_codes.c.patient_id == patient_id, t.link_codes.c.used_at.is_(None)
                )
            )
            await conn.execute(
                insert(t.link_codes).values(
                    code_hash=code_hash(code),
                    patient_id=patient_id,
                    created_at=now,
                    expires_at=now + self.ttl,
                    used_at=None,
                    used_by_chat=None,
                )
            )
            await self.audit.record(
                "link", actor=actor, at=now, patient_id=patient_id,
                after={"link": "issued", "expires_at": now + self.ttl},
            )  # fmt: skip
        return code

    async def redeem(self, code: str, chat_id: int, now: datetime) -> Redemption:
        """Link ``chat_id`` to the code's patient, or say why not (nothing changes then)."""
        async with unit_of_work(self.engine) as conn:
            if await self._failures(conn, chat_id, now) >= self.max_failures:
                return Redemption(Outcome.THROTTLED)
            result = await self._redeem(conn, code.strip(), chat_id, now)
            if result.outcome in (Outcome.WRONG, Outcome.USED, Outcome.EXPIRED):
                await conn.execute(
                    delete(t.link_failures).where(t.link_failures.c.at < now - self.window)
                )
                await conn.execute(insert(t.link_failures).values(chat_id=chat_id, at=now))
            return result

    async def _redeem(
        self, conn: AsyncConnection, code: str, chat_id: int, now: datetime
    ) -> Redemption:
        if not _CODE_RE.fullmatch(code):
            return Redemption(Outcome.WRONG)
        c = t.link_codes.c
        digest = code_hash(code)
        row = (await conn.execute(select(t.link_codes).where(c.code_hash == digest))).first()
        if row is None:
            return Redemption(Outcome.WRONG)
        if row.used_at is not None:
            if row.used_by_chat == chat_id:
                return Redemption(Outcome.ALREADY_LINKED, row.patient_id)
            return Redemption(Outcome.USED)
        if row.expires_at <= now:
            return Redemption(Outcome.EXPIRED)
        p = t.patients.c
        other = (
            await conn.execute(
                select(p.id).where(p.telegram_chat_id == chat_id, p.id != row.patient_id)
            )
        ).first()
        if other is not None:
            return Redemption(Outcome.CHAT_TAKEN)
        # The conditional UPDATE is the claim: of two chats racing for one code, one wins.
        claimed = await conn.execute(
            update(t.link_codes)
            .where(c.code_hash == digest, c.used_at.is_(None))
            .values(used_at=now, used_by_chat=chat_id)
        )
        if claimed.rowcount != 1:
            return Redemption(Outcome.USED)
        before = (
            await conn.execute(select(p.telegram_chat_id).where(p.id == row.patient_id))
        ).scalar()
        await conn.execute(
            update(t.patients).where(p.id == row.patient_id).values(telegram_chat_id=chat_id)
        )
        await self.audit.record(
            "link", actor=SYSTEM, at=now, patient_id=row.patient_id,
            before={"telegram": "linked" if before is not None else "not linked"},
            after={"telegram": "linked", "by": "the patient opened their link"},
        )  # fmt: skip
        return Redemption(Outcome.LINKED, row.patient_id)

    async def _failures(self, conn: AsyncConnection, chat_id: int, now: datetime) -> int:
        f = t.link_failures.c
        return int(
            (
                await conn.execute(
                    select(func.count())
                    .select_from(t.link_failures)
                    .where(f.chat_id == chat_id, f.at > now - self.window)
                )
            ).scalar_one()
        )

    async def pending(self, patient_id: str, now: datetime) -> bool:
        """Whether the patient has an unused, unexpired code."""
        c = t.link_codes.c
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(c.code_hash).where(
                        c.patient_id == patient_id, c.used_at.is_(None), c.expires_at > now
                    )
                )
            ).first()
        return row is not None
