"""Staff accounts in the ``staff`` table, and their one-time set-password links.

Emails are lower-cased before they are stored or looked up. A set-password link carries a
random token; only its SHA-256 is stored, a new link voids the older unused ones, and using
one sets the password, clears any lock-out and ends the account's sessions, in one
transaction.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.conversation.validate import InvalidInput
from scheduler.store import tables as t
from scheduler.store.db import reading

LINK_VALID = timedelta(hours=24)
MAX_FAILURES = 5  # wrong passwords or codes in a row before the account is locked ...
LOCK_FOR = timedelta(minutes=15)  # ... for this long


class Role(enum.StrEnum):
    NURSE = "nurse"
    ADMIN = "admin"


@dataclass(frozen=True)
class Staff:
    """Who is signed in: what a console page may know of them (``request.state.staff``)."""

    id: int
    email: str
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class Account:
    """A whole ``staff`` row, for signing in and for the staff list."""

    staff: Staff
    password_hash: str | None
    totp_secret: str | None
    totp_last_step: int | None
    disabled_at: datetime | None
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def parse_email(text: str) -> str:
    email = text.strip().lower()
    if len(email) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s.]+", email):
        raise InvalidInput(f"email {text.strip()!r} is not an email address, e.g. nora@example.org")
    return email


def parse_staff_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > 100 or not name.isprintable():
        raise InvalidInput("name must be 1 to 100 printable characters")
    return name


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidInput(f"role {text.strip()!r} is not known: use nurse or admin") from None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _account(r: Row[tuple[object, ...]]) -> Account:
    m = r._mapping
    return Account(
        staff=Staff(m["id"], m["email"], m["name"], Role(m["role"])),
        password_hash=m["password_hash"],
        totp_secret=m["totp_secret"],
        totp_last_step=m["totp_last_step"],
        disabled_at=m["disabled_at"],
        failed_attempts=m["failed_attempts"],
        locked_until=m["locked_until"],
        created_at=m["created_at"],
    )


class StaffAccounts:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(
        self, email: str, name: str, role: Role, now: datetime, *, totp_secret: str | None = None
    ) -> Staff:
        try:
            async with self.engine.begin() as conn:
                res = await conn.execute(
                    insert(t.staff)
                    .values(email=email, name=name, role=role.value, totp_secret=totp_secret,
                            failed_attempts=0, created_at=now)
                    .returning(t.staff.c.id)
                )  # fmt: skip
                return Staff(int(res.scalar_one()), email, name, role)
        except IntegrityError:
            raise InvalidInput(
                f"{email} already has an account: see 'lenabot staff list'"
            ) from None

    async def by_email(self, email: str) -> Account | None:
        async with reading(self.engine) as conn:
            row = (await conn.execute(select(t.staff).where(t.staff.c.email == email))).first()
        return None if row is None else _account(row)

    async def known(self, email: str) -> Account:
        """The account of ``email``, or InvalidInput naming it."""
        found = await self.by_email(parse_email(email))
        if found is None:
            raise InvalidInput(
                f"no staff account has the email {email.strip()!r}: see 'lenabot staff list'"
            )
        return found

    async def everyone(self) -> list[Account]:
        async with reading(self.engine) as conn:
            rows = await conn.execute(select(t.staff).order_by(t.staff.c.name, t.staff.c.email))
            return [_account(r) for r in rows]

    async def set_password(self, staff_id: int, password_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.staff).where(t.staff.c.id == staff_id)
                .values(password_hash=password_hash, failed_attempts=0, locked_until=None)
            )  # fmt: skip
            await conn.execute(
                delete(t.staff_sessions).where(t.staff_sessions.c.staff_id == staff_id)
            )

    async def set_totp(self, staff_id: int, secret: str | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.staff).where(t.staff.c.id == staff_id)
                .values(totp_secret=secret, totp_last_step=None)
            )  # fmt: skip

    async def disable(self, staff_id: int, now: datetime) -> None:
        """Disabled at once: every session of the account ends in the same transaction."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.staff).where(t.staff.c.id == staff_id).values(disabled_at=now)
            )
            await conn.execute(
                delete(t.staff_sessions).where(t.staff_sessions.c.staff_id == staff_id)
            )
            await conn.execute(
                delete(t.set_password_tokens).where(t.set_password_tokens.c.staff_id == staff_id)
            )

    async def enable(self, staff_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.staff).where(t.staff.c.id == staff_id)
                .values(disabled_at=None, failed_attempts=0, locked_until=None)
            )  # fmt: skip

    async def failed(self, staff_id: int, now: datetime) -> None:
        """One more wrong password or code; the fifth in a row locks the account (one
        statement, so two requests at once cannot both miss the count)."""
        c = t.staff.c
        reached = c.failed_attempts + 1 >= MAX_FAILURES
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t.staff).where(c.id == staff_id).values(
                    failed_attempts=case((reached, 0), else_=c.failed_attempts + 1),
                    locked_until=case((reached, now + LOCK_FOR), else_=c.locked_until),
                )
            )  # fmt: skip

    async def signed_in(
        self, staff_id: int, totp_step: int | None, rehashed: str | None = None
    ) -> bool:
        """A good sign-in: the count of failures starts again. With a TOTP step, only if no
        code of that step or a later one was accepted before (False: a replayed code)."""
        c = t.staff.c
        values: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
        if rehashed is not None:
            values["password_hash"] = rehashed
        query = update(t.staff).where(c.id == staff_id)
        if totp_step is not None:
            values["totp_last_step"] = totp_step
            query = query.where((c.totp_last_step.is_(None)) | (c.totp_last_step < totp_step))
        async with self.engine.begin() as conn:
            return bool((await conn.execute(query.values(**values))).rowcount)

    # -- one-time set-password links ---------------------------------------------------------

    async def issue_link(self, staff_id: int, now: datetime) -> str:
        """A new token for ``/set-password/<token>``, valid ``LINK_VALID``; older unused ones die."""
        token = secrets.token_urlsafe(32)
        s = t.set_password_tokens
        async with self.engine.begin() as conn:
            await conn.execute(delete(s).where(s.c.staff_id == staff_id, s.c.used_at.is_(None)))
            await conn.execute(
                insert(s).values(hash=token_hash(token), staff_id=staff_id,
                                 expires_at=now + LINK_VALID)
            )  # fmt: skip
        return token

    async def link_holder(self, token: str, now: datetime) -> Account | None:
        """The enabled account a still-valid, unused link belongs to."""
        s = t.set_password_tokens.c
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(t.staff)
                    .join(t.set_password_tokens, s.staff_id == t.staff.c.id)
                    .where(
                        s.hash == token_hash(token[:100]),
                        s.used_at.is_(None),
                        s.expires_at > now,
                        t.staff.c.disabled_at.is_(None),
                    )
                )
            ).first()
        return None if row is None else _account(row)

    async def use_link(self, token: str, password_hash: str, now: datetime) -> Staff | None:
        """Set the password through a link, once: the link is spent, the lock cleared and the
        account's sessions ended, all or nothing. None if the link is no longer good."""
        s = t.set_password_tokens
        holder = await self.link_holder(token, now)
        if holder is None:
            return None
        async with self.engine.begin() as conn:
            spent = await conn.execute(
                update(s).where(s.c.hash == token_hash(token), s.c.used_at.is_(None),
                                s.c.expires_at > now)
                .values(used_at=now)
            )  # fmt: skip
            if not spent.rowcount:
                return None  # used by a request a moment ago
            await conn.execute(
                update(t.staff).where(t.staff.c.id == holder.staff.id)
                .values(password_hash=password_hash, failed_attempts=0, locked_until=None)
            )  # fmt: skip
            await conn.execute(
                delete(t.staff_sessions).where(t.staff_sessions.c.staff_id == holder.staff.id)
            )
        return holder.staff


def set_password_url(root: str, token: str) -> str:
    """Where a one-time link points: ``<root>/set-password/<token>``."""
    return f"{root.rstrip('/')}/set-password/{token}"
