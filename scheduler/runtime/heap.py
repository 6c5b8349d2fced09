"""Handing freed memory back to the system after a planning pass (glibc only).

A pass over every patient allocates and frees tens of MB; glibc keeps freed memory for reuse,
so after a peak the process stays that big. Over a simulated week (bench/soak.py) that was the
growth the "memory flat" check failed on: +20 MB held free by malloc. ``malloc_trim(0)``
returns it (10,000 x 7 days: 238 -> 183 MB at the end, the service's own share flat from day
2; ~1% more CPU). On a C library without it (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Give the memory malloc holds free back to the system; False where it cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
