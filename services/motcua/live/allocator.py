"""The C allocator of a service process (glibc's malloc), tuned at the process's start.

glibc gives threads that allocate at the same time arenas of their own, up to eight per
core, and keeps what is freed in each for reuse. chDB's insert and merge threads in the
writer make many of them, and its resident memory then moves in a wide band with the
merges (docs/performance.md, soak runs 6 and 7).
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # glibc's <malloc.h>


def limit_malloc_arenas(count: int) -> bool:
    """At most ``count`` malloc arenas for the threads this process starts from now on.

    Returns whether the limit was set: not for ``count`` 0 (glibc's default), nor where
    the C library has no ``mallopt`` (macOS) or refuses it."""
    if count <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count) == 1)
