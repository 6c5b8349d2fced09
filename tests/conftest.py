"""Shared database fixtures: every store test runs on SQLite and on PostgreSQL.

- ``backend`` is parametrised ``sqlite`` / ``postgres`` (the latter marked ``postgres``).
- ``db_url``: SQLite, a file in ``tmp_path``; PostgreSQL, ``TEST_DATABASE_URL`` or the local
  default. Unreachable PostgreSQL skips, unless ``TEST_DATABASE_URL`` was given explicitly or
  ``REQUIRE_POSTGRES=1`` (CI): then every postgres test fails loudly.
- ``db``: one isolated database per test. On PostgreSQL that is a fresh schema ``t_<hex>``;
  engines made with ``db.make_engine()`` see only it (asyncpg ``server_settings.search_path``),
  and it is dropped afterwards. A bare ``db_url`` is *not* isolated on PostgreSQL.
- ``engine``: tables created from ``scheduler.store.tables.metadata`` (fast); that Alembic produces
  the same schema is proved once per backend in ``integration/test_migrations.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from messages.render import render_for
from scheduler.domain.model import ChannelKind, Patient, PlanSettings, Regimen, RuleSet
from scheduler.ports import ManualClock
from scheduler.services.dispatch import Dispatcher
from scheduler.services.materialise import Materialiser
from scheduler.store.db import make_engine, normalise_url
from scheduler.store.outbox import SqlAlchemyOutbox
from scheduler.store.repository import SqlAlchemyCourseRepository
from scheduler.store.tables import metadata
from tests.fakes.channels import RecordingChannel, resolver_for

PG_DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

# Wednesday 10 June 2026, 08:00 in London (BST): far from any DST change.
T0 = datetime(2026, 6, 10, 7, 0, tzinfo=UTC)
# The default course: 21/28 at 09:00 London from Monday 1 June 2026, so T0 is cycle 1 day 10.
COURSE_START = date(2026, 6, 1)
DOSE_TIME = time(9, 0)


# -- PostgreSQL server ---------------------------------------------------------------------


def asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` DSN asyncpg itself understands."""
    return (
        make_url(normalise_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


async def terminate_sessions(url: str, application_name: str) -> None:
    """End the PostgreSQL sessions a killed process left (``pg_terminate_backend``): the
    server notices a dead client on its own, in time; a test makes sure before it looks."""
    admin = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await admin.execute(
            "select pg_terminate_backend(pid, 10000) from pg_stat_activity "
            "where application_name = $1", application_name,
        )
    finally:
        await admin.close()


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _probe(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url), timeout=5)
    await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The server URL, checked once per session (skip, or fail when PostgreSQL is required)."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    url = normalise_url(explicit or PG_DEFAULT_URL)
    try:
        # A thread of its own: never touch the loops pytest-asyncio manages.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _probe(url)).result()
    except Exception as exc:
        why = f"PostgreSQL at {_redacted(url)} is unreachable: {type(exc).__name__}: {exc}"
        if os.environ.get("REQUIRE_POSTGRES") == "1" or explicit:
            pytest.fail(f"{why} (REQUIRE_POSTGRES=1 or TEST_DATABASE_URL set)", pytrace=False)
        pytest.skip(f"{why}; set TEST_DATABASE_URL to run the postgres tests")
    return url


# -- one isolated database per test --------------------------------------------------------


@dataclass
class TestDb:
    """Where a test's data lives, and how to open engines on it (all disposed at teardown)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    backend: str
    url: str
    schema: str | None = None
    engines: list[AsyncEngine] = field(default_factory=list)

    @property
    def postgres(self) -> bool:
        return self.backend == "postgres"

    def server_settings(self, **extra: str) -> dict[str, str]:
        """PostgreSQL session settings for this test's engines.

        ``synchronous_commit=off`` only gives up durability if the *server* crashes; locking,
        visibility and isolation are untouched, and thousands of one-row commits get cheap.
        The session time zone is deliberately odd (UTC+12:45 / +13:45): the store must not
        depend on the server's zone.
        """
        assert self.schema is not None
        return {
            "search_path": self.schema,
            "synchronous_commit": "off",
            "TimeZone": "Pacific/Chatham",
            **extra,
        }

    def engine_options(self) -> dict[str, Any]:
        """``make_engine`` arguments that open this test's database (and nothing else)."""
        if self.schema is None:
            return {}
        return {
            "connect_args": {"server_settings": self.server_settings()},
            "pool_pre_ping": False,  # a fresh local server: save a round trip
        }

    def make_engine(self, **kw: Any) -> AsyncEngine:
        engine = make_engine(self.url, **(self.engine_options() | kw))
        self.engines.append(engine)
        return engine

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()
        self.engines.clear()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Put on a test to run it on PostgreSQL only (it overrides the ``backend`` parametrisation).
postgres_only = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
)


@pytest.fixture
def db_url(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'lenabot.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(backend: str, db_url: str) -> AsyncIterator[TestDb]:
    if backend == "sqlite":
        target = TestDb("sqlite", db_url)
        try:
            yield target
        finally:
            await target.dispose()
        return
    schema = f"t_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        target = TestDb("postgres", db_url, schema)
        try:
            yield target
        finally:
            await target.dispose()
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


@pytest.fixture
async def engine(db: TestDb) -> AsyncEngine:
    eng = db.make_engine()
    await create_tables(eng)
    return eng


# -- the store and dispatch, wired to fakes ------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def channel(clock: ManualClock) -> RecordingChannel:
    return RecordingChannel("sms", clock=clock)


@pytest.fixture
def repo(engine: AsyncEngine) -> SqlAlchemyCourseRepository:
    return SqlAlchemyCourseRepository(engine)


@pytest.fixture
def outbox(engine: AsyncEngine) -> SqlAlchemyOutbox:
    return SqlAlchemyOutbox(engine)


@pytest.fixture
def materialiser(repo: SqlAlchemyCourseRepository, outbox: SqlAlchemyOutbox) -> Materialiser:
    # Outbox mechanics only: follow-ups (tested in test_conversation.py) would add rows.
    return Materialiser(repo, outbox, PlanSettings(follow_up_after=timedelta(0)), render=render_for)


MakeDispatcher = Callable[..., Dispatcher]


@pytest.fixture
def make_dispatcher(
    repo: SqlAlchemyCourseRepository,
    outbox: SqlAlchemyOutbox,
    clock: ManualClock,
    channel: RecordingChannel,
) -> MakeDispatcher:
    """``make_dispatcher(**overrides)``: a Dispatcher on the test's store, clock and channel.

    ``engine=`` gives it its own store objects on another engine (a second worker).
    """
    workers = itertools.count(1)

    def make(*, engine: AsyncEngine | None = None, **kw: Any) -> Dispatcher:
        if engine is not None:
            kw.setdefault("outbox", SqlAlchemyOutbox(engine))
            kw.setdefault("courses", SqlAlchemyCourseRepository(engine))
        kw.setdefault("outbox", outbox)
        kw.setdefault("courses", repo)
        kw.setdefault("clock", clock)
        kw.setdefault("resolve", resolver_for(kw.pop("channel", channel)))
        kw.setdefault("worker", f"test-worker-{next(workers)}")
        kw.setdefault("rng", random.Random(1234))
        return Dispatcher(**kw)

    return make


@pytest.fixture
def dispatcher(make_dispatcher: MakeDispatcher) -> Dispatcher:
    return make_dispatcher()


_phones = itertools.count(1)


def make_patient(pid: str = "p1", **overrides: Any) -> Patient:
    """A patient on SMS in London, with a phone number of their own unless given."""
    fields: dict[str, Any] = {
        "id": pid,
        "name": "Ada Lovelace",
        "channel": ChannelKind.SMS,
        "tz": "Europe/London",
        "language": "en-GB",
        "rules": RuleSet.UK,
        "created_at": T0,
        "phone": f"+44770{next(_phones):07d}",
    }
    fields.update(overrides)
    return Patient(**fields)


Enrol = Callable[..., Awaitable[Patient]]


@pytest.fixture
def enrol(repo: SqlAlchemyCourseRepository, clock: ManualClock) -> Enrol:
    """``await enrol("p1", start=..., dose_time=..., regimen="21/28", now=..., **patient)``."""

    async def enrol_(
        pid: str = "p1",
        *,
        start: date = COURSE_START,
        dose_time: time = DOSE_TIME,
        regimen: str = "21/28",
        now: datetime | None = None,
        **patient: Any,
    ) -> Patient:
        p = make_patient(pid, **patient)
        await repo.enrol(
            p,
            start=start,
            dose_time=dose_time,
            regimen=Regimen.parse(regimen),
            now=now or clock.now(),
        )
        return p

    return enrol_


# The longest tests go first, so that with two workers (``make test``, pytest-xdist) the
# safety state machine (minutes at 200 examples) and the process drills start at once and
# run beside everything else, instead of starting last and running alone.
SLOW_FIRST = (
    "tests/integration/dispatch/test_safety_machine.py",
    "tests/drills/",
    "tests/integration/ops/test_bench_smoke.py",
    "tests/browser/",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next(
            (i for i, slow in enumerate(SLOW_FIRST) if path.startswith(slow)), len(SLOW_FIRST)
        )

    items.sort(key=rank)  # stable: the order within each rank is kept
