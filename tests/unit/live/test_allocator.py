"""live/allocator.py and LiveSettings.writer_arena_limit: when the writer limits glibc's
malloc arenas and when it leaves them."""

from __future__ import annotations

import os

import pytest

from motcua.live.allocator import limit_malloc_arenas
from motcua.live.config import LiveSettings


def test_zero_sets_nothing():
    assert limit_malloc_arenas(0) is False


@pytest.mark.skipif("glibc" not in (os.confstr("CS_GNU_LIBC_VERSION") or ""), reason="mallopt is glibc's")
def test_glibc_accepts_the_limit():
    # glibc's own default on 64-bit (8 arenas a core): accepted, and this test process's
    # allocator behaves as before
    assert limit_malloc_arenas(8 * (os.cpu_count() or 1)) is True


def test_two_by_default_none_when_the_environment_sets_it(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.delenv("MOTCUA_WRITER_MALLOC_ARENAS", raising=False)
    assert LiveSettings().writer_arena_limit() == 2
    monkeypatch.setenv("MOTCUA_WRITER_MALLOC_ARENAS", "0")
    assert LiveSettings().writer_arena_limit() == 0
    monkeypatch.setenv("MOTCUA_WRITER_MALLOC_ARENAS", "4")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert LiveSettings().writer_arena_limit() == 0  # glibc already follows the environment
