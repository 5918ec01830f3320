"""Reading a file in a process of its own, with a deadline and a memory cap.

A public app cannot know what a file costs before reading it: an ABC book of 16 KB with nested
tuplets took abctoolkit 38 s, and a reader that runs out of memory takes the whole server with it.
So each file is read (converted, decoded) in a child process forked from a forkserver that has the
readers imported: the child gets ``RLIMIT_AS`` (its address space when it starts plus the memory
budget) and the parent kills it at the deadline. A child that overruns, runs out of memory or dies
is one :class:`InputError` for that file; the caller, the other files and the other requests go on.
Every byte the reader allocated goes back to the system when the child ends.

The limits are set by the environment, read at each use: ``CLAMP3_READ_SECONDS`` and
``CLAMP3_READ_MEMORY_MB``. Neither is set for the CLI (files are read in its own process, as the
official scripts do); ``app.py`` sets both. At most one child per core runs at once, in all the
threads of a process together, so the memory children can take is bounded by the cores times the
budget.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from clamp3.errors import InputError

logger = logging.getLogger(__name__)

SECONDS_VARIABLE = "CLAMP3_READ_SECONDS"
MEMORY_VARIABLE = "CLAMP3_READ_MEMORY_MB"
# The environment variables a child takes from the process that asks for the read, not from the
# forkserver (started once, maybe before the app set its budgets).
BUDGET_PREFIX = "CLAMP3_"

# multiprocessing runs the main script again in each child before its target (Python 3.11's
# forkserver never imports it once: it looks for a key the parent does not send), so each file read
# by ``python app.py`` would import gradio first. The target lives here, not in the script: the
# forkserver, importing this module, takes the script as imported and its children skip it.
MAIN_VARIABLE = "_CLAMP3_FORKSERVER_MAIN"
if os.environ.get(MAIN_VARIABLE) and getattr(sys.modules["__main__"], "__file__", None) is None:
    sys.modules["__main__"].__file__ = os.environ[MAIN_VARIABLE]

NICENESS = 10
_slots = threading.BoundedSemaphore(os.cpu_count() or 1)
_context_lock = threading.Lock()
_context = None


@dataclass(frozen=True)
class ReadLimits:
    """A deadline (seconds, from the start of the child) and a memory budget (bytes beyond what
    the child holds when it starts) for reading one file; ``None`` is no limit."""

    seconds: float | None = None
    memory_bytes: int | None = None

    @classmethod
    def from_environment(cls) -> ReadLimits | None:
        """The limits ``CLAMP3_READ_SECONDS`` and ``CLAMP3_READ_MEMORY_MB`` set, or None when neither is."""
        seconds, memory = os.environ.get(SECONDS_VARIABLE), os.environ.get(MEMORY_VARIABLE)
        if not seconds and not memory:
            return None
        limits = cls(float(seconds) if seconds else None, int(float(memory) * 2**20) if memory else None)
        if (limits.seconds is not None and limits.seconds <= 0) or (limits.memory_bytes is not None and limits.memory_bytes <= 0):
            raise ValueError(f"read limits must be positive, got {SECONDS_VARIABLE}={seconds!r} {MEMORY_VARIABLE}={memory!r}")
        return limits


def _forkserver():
    """The forkserver context, its server running with the readers imported (started once per process)."""
    global _context
    from multiprocessing import forkserver

    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # The readers' lazy imports too, so that no child pays for them (music21: about a second).
            context.set_forkserver_preload(["clamp3.formats.isolated", "soundfile", "soxr", "music21", "abctoolkit.abc2xml"])
            main = getattr(sys.modules["__main__"], "__file__", None)
            if main is not None:  # for the server only: taken out again once it runs
                os.environ[MAIN_VARIABLE] = os.path.normpath(os.path.abspath(main))
            try:
                forkserver.ensure_running()
            finally:
                os.environ.pop(MAIN_VARIABLE, None)
            _context = context
        return _context


def start() -> None:
    """Start the forkserver now (it imports the readers: some seconds), not at the first file."""
    _forkserver()


def _address_space() -> int:
    """Bytes of address space this process holds now (``VmSize``)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _child(connection, path: Path, memory_bytes: int | None, environment: dict[str, str]) -> None:
    from clamp3.formats import try_read_items
    from clamp3.memory import keep_loaded

    keep_loaded(rare_full_passes=False)  # the readers stay to the end of this one-file process, whose memory is capped
    for key in [k for k in os.environ if k.startswith(BUDGET_PREFIX)]:
        del os.environ[key]
    os.environ.update(environment)
    os.nice(NICENESS)  # the CPU goes to the requests the model answers first; a reader takes what is left
    if memory_bytes is not None:
        cap = _address_space() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        result = ("read", try_read_items(path))
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # a reader's bug: sent back and raised in the caller, as in-process
        result = ("raised", exc)
    try:
        connection.send(result)
    except MemoryError:  # the result itself did not fit in what was left
        connection.send(("memory", None))
    connection.close()


def _over_memory(path: Path, limits: ReadLimits) -> InputError:
    return InputError(path, f"reading it needs over {limits.memory_bytes / 2**20:,.0f} MB of memory, the limit")


def read_isolated(path: Path, limits: ReadLimits) -> tuple[list, list[InputError]]:
    """:func:`clamp3.formats.try_read_items` of ``path`` in a child process within ``limits``."""
    context = _forkserver()
    environment = {k: v for k, v in os.environ.items() if k.startswith(BUDGET_PREFIX)}
    # A file waits for a reader at most as long as a reader may take: a queue of slow uploads makes
    # the next one a clear refusal, not a wait without end.
    if not _slots.acquire(timeout=limits.seconds):
        return [], [InputError(path, f"not read: every reader was busy for {limits.seconds:g} s with other files; try again")]
    try:
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_child, args=(sender, path, limits.memory_bytes, environment), name=f"read {path.name}", daemon=True
        )
        started = time.monotonic()
        child.start()
        sender.close()
        try:
            ready = receiver.poll(limits.seconds)
            if not ready:
                child.kill()
                return [], [InputError(path, f"reading it took over {limits.seconds:g} s, the limit; stopped")]
            try:
                kind, value = receiver.recv()
            except (EOFError, OSError):  # died without a word: killed, or a reader's C code aborted
                child.join(5)
                code = child.exitcode
                died = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
                if limits.memory_bytes is not None:
                    return [], [InputError(path, f"the reader died ({died}), likely over the memory limit of "
                                                 f"{limits.memory_bytes / 2**20:,.0f} MB")]
                return [], [InputError(path, f"the reader died ({died})")]
        finally:
            receiver.close()
            if child.is_alive():
                child.join(1)
                if child.is_alive():
                    child.kill()
            child.join()
            child.close()
    finally:
        _slots.release()
    logger.debug("read %s in a child in %.2f s", path.name, time.monotonic() - started)
    if kind == "memory":
        return [], [_over_memory(path, limits)]
    if kind == "raised":
        raise value
    return value
