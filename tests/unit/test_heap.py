"""A planning pass hands the memory malloc holds free back to the system (glibc only)."""

from __future__ import annotations

import ctypes
import platform

import pytest

from scheduler.runtime import heap


def test_on_glibc_the_freed_memory_goes_back() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc_trim is glibc's")
    heap._malloc_trim.cache_clear()
    assert heap.release_freed_memory() is True


def test_without_malloc_trim_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoTrim:  # a C library without malloc_trim (musl, macOS)
        def __init__(self, name: object) -> None:
            pass

        def __getattr__(self, name: str) -> object:
            raise AttributeError(name)

    monkeypatch.setattr(ctypes, "CDLL", NoTrim)
    heap._malloc_trim.cache_clear()
    try:
        assert heap.release_freed_memory() is False
    finally:
        heap._malloc_trim.cache_clear()
