"""SQLAlchemy's aiosqlite adapter, with one trip to aiosqlite's thread per statement.

aiosqlite runs each SQLite connection in a thread of its own and hands it one call at a time;
SQLAlchemy's adapter makes four such calls per statement (new cursor, execute, fetch the rows,
close the cursor). Each call is a wake-up of that thread and of the event loop: on this 2-core
virtual machine about 150 us of CPU, most of it in the kernel, so a one-row SELECT cost four
times what SQLite spent on it, and a signed SMS webhook spent more CPU handing work between
threads than handling the message (bench/RESULTS.md). Here the four calls are one: the
statement runs to completion in aiosqlite's thread, which hands back the rows, the
description, the row count and the last row id; the SQLAlchemy side reads them from there.

Everything else is SQLAlchemy's own: the dialect, its connection adapter, error translation,
and the server-side cursor (which fetches as it goes, so stays as it is). Only the engine's
DBAPI module is swapped, through ``create_async_engine(module=...)``, so URLs stay
``sqlite+aiosqlite://``. It relies on two things aiosqlite keeps private and SQLAlchemy's own
adapter already uses: ``Connection._execute`` (queue a call for the thread) and ``_conn``
(the ``sqlite3`` connection); hence the narrow version ranges in pyproject.toml.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT


@dataclass(slots=True)
class _Ran:
    """What a statement left behind, read in aiosqlite's thread; the cursor is closed."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any] | None
    arraysize: int = 1

    def close(self) -> None:
        """Closed already, in the thread that ran it."""


def _run(conn: sqlite3.Connection, operation: str, parameters: Any) -> _Ran:
    cursor = conn.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else None
        return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


def _run_many(conn: sqlite3.Connection, operation: str, seq_of_parameters: Any) -> _Ran:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid, None)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statements each make one trip to aiosqlite's thread."""

    __slots__ = ()
    _awaitable_cursor_close = False  # nothing is left open to close

    def __init__(self, adapt_connection: Any) -> None:
        # The base class opens an aiosqlite cursor here (a trip of its own): not needed.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Ran(None, -1, None, None)  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        ran = await self._trip(_run, operation, parameters)
        if ran.rows is not None:
            self._rows = collections.deque(ran.rows)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        await self._trip(_run_many, operation, seq_of_parameters)

    async def _trip(self, fn: Callable[[sqlite3.Connection, str, Any], _Ran], *args: Any) -> _Ran:
        """Run ``fn`` in the connection's thread, one statement at a time as the base does."""
        async with self._adapt_connection._execute_mutex:
            conn: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            ran: _Ran = await conn._execute(fn, conn._conn, *args)  # type: ignore[no-untyped-call]
            self._cursor = ran  # type: ignore[assignment]
            return ran


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI module, handing out connections with ``OneTripCursor``."""

    def connect(self, *arg: Any, **kw: Any) -> _Connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


def dbapi() -> OneTripDbapi:
    """The module to pass as ``create_async_engine(..., module=dbapi())`` for SQLite."""
    return OneTripDbapi(aiosqlite, sqlite3)
