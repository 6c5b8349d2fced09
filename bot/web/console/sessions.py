"""Server-side console sessions (``staff_sessions``): the cookie holds a random token, the row
its SHA-256, so the table alone opens nothing.

A session ends after ``IDLE`` without a request, ``ABSOLUTE`` after sign-in whatever happens,
at sign-out (the row is deleted), and at once when the account is disabled or its password
set again. Each has its own CSRF token for the forms it shows.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.web.console.accounts import Role, Staff, token_hash
from scheduler.store import tables as t
from scheduler.store.db import reading

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
# last_seen_at is written at most this often: a page that loads its CSS does not write twice.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Session:
    staff: Staff
    csrf: str
    created_at: datetime


class SessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def start(self, staff_id: int, now: datetime) -> tuple[str, str]:
        """A new session: (the cookie's token, its CSRF token). Always a new id, so a token
        planted before sign-in is never the one that signs in (no fixation)."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(t.staff_sessions).values(
                    id=token_hash(token), staff_id=staff_id, created_at=now, last_seen_at=now,
                    csrf=csrf,
                )
            )  # fmt: skip
        return token, csrf

    async def find(self, token: str, now: datetime) -> Session | None:
        """The live session of ``token``; an expired one, or one of a disabled account, is
        deleted and None returned."""
        if not token or len(token) > 100:
            return None
        key = token_hash(token)
        s, st = t.staff_sessions.c, t.staff.c
        async with reading(self.engine) as conn:
            row = (
                await conn.execute(
                    select(
                        s.csrf,
                        s.created_at,
                        s.last_seen_at,
                        st.id,
                        st.email,
                        st.name,
                        st.role,
                        st.disabled_at,
                    )
                    .join(t.staff, st.id == s.staff_id)
                    .where(s.id == key)
                )
            ).first()
        if row is None:
            return None
        expired = now - row.last_seen_at >= IDLE or now - row.created_at >= ABSOLUTE
        if expired or row.disabled_at is not None:
            await self.end(token)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(t.staff_sessions).where(s.id == key).values(last_seen_at=now)
                )
        return Session(Staff(row.id, row.email, row.name, Role(row.role)), row.csrf, row.created_at)

    async def end(self, token: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(t.staff_sessions).where(t.staff_sessions.c.id == token_hash(token))
            )

    async def end_all(self, staff_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(t.staff_sessions).where(t.staff_sessions.c.staff_id == staff_id)
            )
