"""A database that cannot be reached, told apart from a bug and said in a few words.

The jobs use it to log an outage in one line instead of a traceback every tick; the CLI, to
end in one sentence naming DATABASE_URL. The reason never quotes a statement or its
parameters (``str(exc)`` of a SQLAlchemy error does: they can hold what a patient wrote).
"""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError

# SQLSTATE classes of a server that cannot be used at all: 08 connection exception, 28 bad
# credentials, 57P admin shutdown / crash shutdown / cannot connect now, 3D000 no such database.
_UNUSABLE = ("08", "28", "57P", "3D000")
# SQLite: the file (or its folder) cannot be opened or read.
_SQLITE_UNUSABLE = ("unable to open database file", "disk i/o error", "readonly database")


def unreachable(exc: BaseException) -> str | None:
    """Why the database cannot be reached, in a few words; None when ``exc`` is something else."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: is the server running?"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    first_line = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    state = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return first_line
    if state.startswith(_UNUSABLE):
        return first_line
    if isinstance(orig, sqlite3.Error) and first_line.lower().startswith(_SQLITE_UNUSABLE):
        return first_line
    return None
