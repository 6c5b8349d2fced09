"""The fast insert of new planned rows: their columns, callback tokens, SQL per dialect."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Dialect, String

from scheduler.store import tables as t

# The columns a new planned row is inserted with (the rest are NULL until it is claimed).
_NEW_COLUMNS = (
    "patient_id", "key", "kind", "local_date", "local_time", "cycle", "day", "text", "priority",
    "status", "due_at", "expires_at", "next_attempt_at", "attempts", "callback_token",
    "created_at", "updated_at",
)  # fmt: skip
_TOKEN_BYTES = 24  # the random part of a callback token: 32 URL-safe characters


def _callback_tokens(n: int, now_ms: int | None = None) -> list[str]:
    """``n`` callback tokens: the time in milliseconds as 11 hex digits, then 24 random bytes
    URL-safe encoded as ``secrets.token_urlsafe(24)`` makes them (43 characters, unpadded).

    The time first makes a planning pass append to the tokens' unique index, where random
    tokens wrote all over it: on PostgreSQL that index cost about a third of the server's
    work in planning 100k patients. The 192 random bits keep a token unguessable; the time
    says only when the row was planned. The random parts come from one urandom call: 24 bytes
    are a whole number of base64 groups, so each 32-character slice of one long encoding is
    exactly the encoding of its own 24 bytes.
    """
    stamp = f"{(time.time_ns() // 1_000_000 if now_ms is None else now_ms):011x}"[-11:]
    width = _TOKEN_BYTES * 4 // 3
    encoded = base64.urlsafe_b64encode(os.urandom(_TOKEN_BYTES * n)).decode("ascii")
    return [stamp + encoded[i : i + width] for i in range(0, width * n, width)]


@dataclass(frozen=True)
class _FastInsert:
    sql: str
    processors: tuple[Callable[[Any], Any] | None, ...]  # per column of _NEW_COLUMNS


@lru_cache(maxsize=64)
def _fast_insert(dialect: Dialect, same: tuple[bool, ...] = ()) -> _FastInsert:
    """The insert of new planned rows for this dialect, and the bind processors of its values.

    The processors are SQLAlchemy's own (``UTCDateTime`` to naive UTC, then SQLite's DATETIME
    string; SQLite's DATE string; none for PostgreSQL's dates): the rows are stored exactly
    as an ``insert(t.outbox)`` would store them.

    On PostgreSQL, the columns ``same`` marks (one value for every row: the status, the
    priority, ``now``...) are sent as that one value rather than an array of copies.
    """
    cols = [t.outbox.c[name] for name in _NEW_COLUMNS]
    same = same or (False,) * len(cols)
    q = dialect.identifier_preparer
    names = ", ".join(q.quote(c.name) for c in cols)
    into = f"INSERT INTO {q.format_table(t.outbox)} ({names})"
    conflict = f"ON CONFLICT ({q.quote('patient_id')}, {q.quote('key')}) DO NOTHING"
    if dialect.name == "postgresql":
        # SQLAlchemy text with named parameters (see OutboxPlanning._insert_new): one array per
        # column that varies, one value for each of the others.
        varying = [c for c, one in zip(cols, same, strict=True) if not one]
        arrays = ", ".join(f"CAST(:{c.name} AS {_pg_type(c, dialect)}[])" for c in varying)
        picks = ", ".join(
            f"CAST(:{c.name} AS {_pg_type(c, dialect)})" if one else f"u.{q.quote(c.name)}"
            for c, one in zip(cols, same, strict=True)
        )
        unnested = ", ".join(q.quote(c.name) for c in varying)
        sql = f"{into} SELECT {picks} FROM unnest({arrays}) AS u({unnested}) {conflict}"
    else:  # driver SQL, qmark parameters
        sql = f"{into} VALUES ({', '.join('?' for _ in cols)}) {conflict}"
    return _FastInsert(
        sql, tuple(c.type.dialect_impl(dialect).bind_processor(dialect) for c in cols)
    )


def _pg_type(col: Column[Any], dialect: Dialect) -> str:
    """The PostgreSQL type one parameter of the ``unnest`` insert is cast to."""
    # VARCHAR without its length: an explicit cast to varchar(n) silently truncates, while
    # storing an over-long value in the column fails, as it always has.
    typ = String() if isinstance(col.type, String) and col.type.length else col.type
    return str(typ.compile(dialect=dialect))


def _bound(values: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """``process`` applied to every value, but computed once per distinct value.

    Due and expiry times repeat across thousands of patients (a few dose times; one ``now``).
    An aware datetime with fold=1 compares equal to its fold=0 twin in the same zone although
    it is another instant: those are processed every time, never memoised.
    """
    memo: dict[Any, Any] = {}
    out: list[Any] = []
    for v in values:
        if getattr(v, "fold", 0):
            out.append(process(v))
            continue
        try:
            out.append(memo[v])
        except KeyError:
            memo[v] = bound = process(v)
            out.append(bound)
    return out
