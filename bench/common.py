"""Shared helpers for the benchmarks: databases, bulk enrolment, figures out."""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from scheduler.store import tables as t
from scheduler.store.db import make_engine

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Wednesday 10 June 2026, 07:00 UTC: far from any DST change, as in the tests.
T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
REGIMENS = ["21/28", "continuous", "days=1,3,...,27/28", "14/21"]
ZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
         "Australia/Sydney", "America/Los_Angeles", "UTC"]  # fmt: skip
DOSE_TIMES = [dtime(8, 0), dtime(9, 0), dtime(9, 30), dtime(20, 0), dtime(21, 0)]

RESULTS: list[dict[str, Any]] = []


def emit(bench: str, **fields: Any) -> dict[str, Any]:
    """One figure: printed as one JSON line at once, kept for the table at the end."""
    rec = {"bench": bench, **fields}
    RESULTS.append(rec)
    print(json.dumps(rec, default=str), flush=True)
    return rec


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


@dataclass
class BenchDb:
    backend: str
    url: str  # SQLAlchemy URL lenabot understands
    name: str | None = None  # PostgreSQL database to drop afterwards

    def engine(self, **kw: Any) -> AsyncEngine:
        return make_engine(self.url, **kw)


async def _pg_admin(sql: str) -> None:
    # Imported here: bench.serve imports this module for T0, and the SQLite service it starts
    # (measured by bench/memory_run.py) must not carry a driver it does not load itself.
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def bench_db(backend: str) -> AsyncIterator[BenchDb]:
    """A fresh empty database with lenabot's tables: a SQLite file, or a PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="lenabench-") as d:
            db = BenchDb("sqlite", f"sqlite+aiosqlite:///{d}/bench.db")
            await _create(db)
            yield db
        return
    name = f"lenabench_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    db = BenchDb("postgres", f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}", name)
    try:
        await _create(db)
        yield db
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _create(db: BenchDb) -> None:
    engine = db.engine()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(t.metadata.create_all)
    finally:
        await engine.dispose()


def pid_of(i: int) -> str:
    return f"b{i:08d}"


def phone_of(i: int) -> str:
    return f"+4477{i:09d}"


async def bulk_enrol(
    engine: AsyncEngine,
    n: int,
    *,
    start_at: int = 0,
    channel: str = "sms",
    seed: int = 7,
    dose_at: datetime | None = None,
) -> None:
    """n patients with mixed regimens, zones, times and pregnancy flags, straight into the
    patients/courses tables (SQLAlchemy core executemany, 5,000 a statement).

    ``dose_at``: every course is instead continuous, with its dose at that very instant in the
    patient's own zone (a same-minute burst of real dose reminders, see ``bulk_outbox``)."""
    rng = random.Random(seed + start_at)
    chunk = 5000
    for lo in range(start_at, start_at + n, chunk):
        pats, courses = [], []
        for i in range(lo, min(lo + chunk, start_at + n)):
            pid = pid_of(i)
            pats.append(dict(
                id=pid, name=f"Patient {i}", channel=channel,
                phone=phone_of(i) if channel == "sms" else None,
                telegram_chat_id=100_000 + i if channel == "telegram" else None,
                tz=rng.choice(ZONES), language="en-GB", discreet=rng.random() < 0.2,
                can_become_pregnant=rng.random() < 0.15,
                partner_can_become_pregnant=rng.random() < 0.1, rules="uk",
                opted_out_at=None, created_at=T0 - timedelta(days=30), follow_ups=True,
            ))  # fmt: skip
            tz, dose_time, regimen = pats[-1]["tz"], rng.choice(DOSE_TIMES), rng.choice(REGIMENS)
            if dose_at is not None:
                dose_time, regimen = dose_at.astimezone(ZoneInfo(tz)).time(), "continuous"
            courses.append(dict(
                patient_id=pid, start_date=date(2026, 5, 1) + timedelta(days=rng.randrange(40)),
                dose_time=dose_time, regimen=regimen, end_date=None,
                enrolled_at=T0 - timedelta(days=30), updated_at=T0 - timedelta(days=30),
                version=1,
            ))  # fmt: skip
        async with engine.begin() as conn:
            await conn.execute(insert(t.patients), pats)
            await conn.execute(insert(t.courses), courses)
    await analyze(engine, "patients", "courses")


async def bulk_outbox(engine: AsyncEngine, n: int, due: datetime) -> None:
    """One pending dose row per patient b0..b(n-1), all due at ``due`` (a burst), each for the
    patient's own local date: enrol them with ``bulk_enrol(..., dose_at=due)``, so that every
    row is a real dose reminder the dispatcher's last check (``scheduler.domain.safety``) lets go."""
    async with engine.connect() as conn:
        zones = dict((await conn.execute(select(t.patients.c.id, t.patients.c.tz))).all())
    chunk = 5000
    for lo in range(0, n, chunk):
        rows = [dict(
            patient_id=pid_of(i), key=f"dose:{_local(due, zones[pid_of(i)]).date()}",
            kind="dose", local_date=_local(due, zones[pid_of(i)]).date(),
            local_time=f"{_local(due, zones[pid_of(i)]):%H:%M}", cycle=1, day=10,
            text="Time for your lenalidomide dose (cycle 1, day 10). Reply TAKEN when done.",
            priority=5, status="pending", due_at=due, expires_at=due + timedelta(hours=12),
            next_attempt_at=due, attempts=0, callback_token=secrets.token_urlsafe(24),
            created_at=due - timedelta(days=1), updated_at=due - timedelta(days=1),
        ) for i in range(lo, min(lo + chunk, n))]  # fmt: skip
        async with engine.begin() as conn:
            await conn.execute(insert(t.outbox), rows)
    await analyze(engine, "outbox")


def _local(instant: datetime, tz: str) -> datetime:
    return instant.astimezone(ZoneInfo(tz))


async def analyze(engine: AsyncEngine, *tables: str) -> None:
    """PostgreSQL: table statistics after a bulk load, as autovacuum would gather them in
    production (this server runs with autovacuum off; unanalysed, the claim is planned for
    61 rows and sorts 40,000)."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text(f"ANALYZE {', '.join(tables)}"))


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class OffsetClock:
    """Real time, shifted so that ``started`` (time.time()) reads as ``at``."""

    def __init__(self, at: datetime, started: float | None = None) -> None:
        self.at = at
        self.started = time.time() if started is None else started

    def now(self) -> datetime:
        return self.at + timedelta(seconds=time.time() - self.started)


def run(coro: Any) -> Any:
    return asyncio.run(coro)
