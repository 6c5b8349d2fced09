"""Where a process's resident memory is: for the soak's samples (bench/soak.py).

``VmRSS`` alone cannot tell a leak from a cache filling or an allocator keeping what was freed.
This reads, besides it: ``RssAnon`` and ``RssFile`` (/proc/self/status); the heap SQLite holds
(``sqlite3_memory_used``, its page caches included, read from the library the ``sqlite3``
module is linked against); and what glibc's malloc holds free (``mallinfo2().fordblks``: freed,
not yet given back to the kernel). A figure the platform cannot give is None.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterable
from typing import Any

MB = 1024 * 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]  # fmt: skip


def _sqlite_used() -> Any:
    try:
        import _sqlite3

        f = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):
        return None
    f.restype = ctypes.c_int64
    return f


def _mallinfo2() -> Any:
    try:
        f = ctypes.CDLL("libc.so.6").mallinfo2  # glibc 2.33 and later
    except (OSError, AttributeError):
        return None
    f.restype = _MallInfo2
    return f


_SQLITE_USED = _sqlite_used()
_MALLINFO2 = _mallinfo2()


def status_mb() -> dict[str, float]:
    """VmRSS, RssAnon, RssFile of this process, in MB."""
    out: dict[str, float] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def breakdown() -> dict[str, float | None]:
    """rss, anon, file (MB, /proc); sqlite: SQLite's heap; malloc_free: freed memory glibc's
    malloc still holds (all arenas); both MB, or None where they cannot be read."""
    s = status_mb()
    sqlite = round(_SQLITE_USED() / MB, 1) if _SQLITE_USED is not None else None
    free = round(_MALLINFO2().fordblks / MB, 1) if _MALLINFO2 is not None else None
    return {"rss": s.get("VmRSS"), "anon": s.get("RssAnon"), "file": s.get("RssFile"),
            "sqlite": sqlite, "malloc_free": free}  # fmt: skip


def deep_size(roots: Iterable[Any]) -> int:
    """Bytes of the Python objects reachable from ``roots`` through containers, dataclasses
    and slots (each object counted once): the soak's own records, measured apart from the
    service's. Shared immutable objects (interned strings, small ints) are counted too, so it
    is an upper bound."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set | frozenset):
            stack.extend(o)
        elif hasattr(o, "__dict__") and not isinstance(o, type):
            stack.append(vars(o))
        elif hasattr(type(o), "__slots__"):
            stack.extend(getattr(o, s) for s in type(o).__slots__ if hasattr(o, s))
    return total
