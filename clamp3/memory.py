"""Handing freed memory back to the system, and keeping what a process holds for good out of the
garbage collector's way.

glibc's malloc keeps what a program frees for its next allocations; freed memory between blocks
still in use is given back only by ``malloc_trim``. After a heavy request (a 20 MB query file)
the app's resident memory stayed about twice as high as before it, though nothing of the request
was still referenced. Here 500 MB of 1 KB blocks, freed but for one in 64, stay resident at
517 MiB until a trim brings them to 45 MiB (``tests/test_memory.py``); a trim of 1.5 GB takes about
200 ms the first time and 15 ms when there is nothing to give back.

Python's cyclic collector walks every object it tracks in each full pass, and reading a score
(music21, abc2xml) allocates enough to start one every few hundred milliseconds: with torch and a
model loaded, those passes took about a fifth of reading the 250 corpus works of
``benchmarks/reading.py`` (16-18 CPU s against 13-14 once what was loaded is frozen). Frozen, the
full passes walk only what reading builds, but come more often (one starts once the objects that
outlived the young generations reach a quarter of those a pass walks): 44 of them over those 250
works, each walking the score being read. :func:`keep_loaded` is for a process that keeps what it
holds to its end.
"""

from __future__ import annotations

import ctypes
import functools
import gc
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


# Young (generation 1) collections between two full passes in a process that keeps what it loaded;
# Python's default is 10. `clamp3 embed` of the 250 works: 44 full passes -> 7, 17.1 -> 16.0 CPU s
# (30: 16.5; medians of 3 alternating rounds); the 24 largest Humdrum files of music21's corpus
# (514 KB): 48.8 -> 45.6 CPU s, peak memory 73 -> 83 MB above the start. Garbage in cycles that outlived the young
# generations waits longer for its pass: of 200 such graphs made and dropped one after another,
# about 57 at most wait at once against 7 with the default (tests/test_memory.py), all 200 without
# full passes.
FULL_PASS_EVERY = 100


def keep_loaded(rare_full_passes: bool = True) -> None:
    """Move every object the process holds now out of the cyclic collector's passes (``gc.freeze``):
    for a process that keeps them to its end (a CLI command once its model is loaded, a space's
    fill, a reader's child), not for a server that drops requests' objects later. Objects created
    afterwards are collected as before; with ``rare_full_passes`` a full pass comes after
    ``FULL_PASS_EVERY`` young ones instead of 10 (not for a child whose memory is capped)."""
    gc.freeze()
    if rare_full_passes:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_PASS_EVERY)
