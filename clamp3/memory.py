"""Handing freed memory back to the system.

glibc's malloc keeps what a program frees for its next allocations; freed memory between blocks
still in use is given back only by ``malloc_trim``. After a heavy request (a 20 MB query file)
the app's resident memory stayed about twice as high as before it, though nothing of the request
was still referenced. Here 500 MB of 1 KB blocks, freed but for one in 64, stay resident at
517 MiB until a trim brings them to 45 MiB (``tests/test_memory.py``); a trim of 1.5 GB takes about
200 ms the first time and 15 ms when there is nothing to give back.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
import time

_lock = threading.Lock()
_last = float("-inf")  # time.monotonic() of the last trim


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # no glibc (musl has no malloc_trim)
        return None


def release_memory(at_most_every: float = 0.0) -> bool:
    """Give the memory malloc keeps after frees back to the system (glibc's ``malloc_trim(0)``; a
    no-op elsewhere). A call within ``at_most_every`` seconds of the last trim does nothing.
    Returns whether any memory was given back."""
    global _last
    trim = _malloc_trim()
    if trim is None:
        return False
    with _lock:
        now = time.monotonic()
        if now - _last < at_most_every:
            return False
        _last = now
    return bool(trim(0))
