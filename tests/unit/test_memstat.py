"""bench/memstat.py: the soak's memory breakdown reads what it says it reads."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass

from bench.memstat import MB, breakdown, deep_size


def test_sqlite_heap_is_the_page_cache_a_connection_fills() -> None:
    before = breakdown()
    assert before["sqlite"] is not None and before["malloc_free"] is not None
    assert before["rss"] and before["anon"] and before["file"]
    assert before["anon"] + before["file"] <= before["rss"] + 1  # RssShmem is the rest
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("PRAGMA cache_size=-8192")
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,) for _ in range(20_000)])
        filled = breakdown()["sqlite"]
        assert filled is not None
        # 20,000 rows of 200 bytes: about 4 MB of pages, held by SQLite's heap.
        assert filled - before["sqlite"] >= 3.0, (before, filled)
    finally:
        conn.close()
    closed = breakdown()["sqlite"]
    assert closed is not None and closed < filled - 3.0


@dataclass
class _Record:
    names: list[str]


def test_deep_size_counts_what_is_reachable_once() -> None:
    names = [f"patient-{i:06d}" for i in range(10_000)]
    one = deep_size([_Record(names)])
    assert one >= sys.getsizeof(names) + sum(sys.getsizeof(n) for n in names)
    # The same list reached twice is counted once: the second record adds its own object and
    # attribute dict (a few hundred bytes), not the 700 KB of names again.
    assert deep_size([_Record(names), _Record(names)]) - one < 1000
    assert one < MB  # and nothing unrelated (the class, the module) is counted


def test_the_soaks_send_counts_are_a_byte_a_row_and_count_every_hand_over() -> None:
    from bench.soak import SendCounts

    sends = SendCounts()
    for row_id in (5, 3, 5, 70_000):
        sends.add(row_id)
    assert (sends[5], sends[3], sends[70_000], sends[4], sends[10**9]) == (2, 1, 1, 0, 0)
    assert list(sends.items()) == [(3, 1), (5, 2), (70_000, 1)]
    # A week of 10,000 patients hands over ~84,000 rows: kept in well under a megabyte, where
    # a Counter of the same ids takes several.
    for row_id in range(1, 84_001):
        sends.add(row_id)
    assert deep_size([sends]) < 0.5 * MB
    assert sends[84_000] == 1 and sends[5] == 3
