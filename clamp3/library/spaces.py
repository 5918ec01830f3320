"""One vector space per model in a library: the items, files and metadata of a library (the base)
embedded by another model, kept beside it and filled (or resumed) in the background.

A library holds the vectors of the model it was built with. The vectors of any other model (an
official checkpoint, one trained in the app) live in a *space*: a library of its own under
``BASE/spaces/FINGERPRINT`` (or, for a base that cannot be written, such as the demo library
shipped in ``assets/``, under ``cache_home()/spaces/DIGEST/FINGERPRINT``) whose items are the base's
items, with the base's titles and metadata. A space is filled by :func:`fill` (``clamp3 index
fill-space``, the app in a child process at niceness 10): the base's symbolic items first (cheap),
then its audio items when the model has an audio tower. Filling is ``Library.add``: chunks committed
one transaction at a time, so a kill loses nothing committed and the next fill resumes; a space is
*complete* once a fill has gone through every item of the base's current version.

Searching a space that is being filled searches the items it holds: :func:`coverage` says how
many of the base's items that is. Vectors of two models never mix: each space is a library checked
against its model's fingerprint, as every library is.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clamp3.assets import is_demo_library
from clamp3.errors import Clamp3Error
from clamp3.library.store import SPACES_DIR, Library, holds_model, open_space, space_dir, spaces_folder

logger = logging.getLogger(__name__)

# Where a space lives and how one is opened are the library's (clamp3.library.store: Library.open(...,
# space=True) needs them); they are this module's names too.
__all__ = ["SPACES_DIR", "BackgroundFill", "Coverage", "change_metadata", "coverage", "drop_space", "fill", "holds_model", "list_spaces",
           "open_space", "space_dir", "spaces_folder", "sync"]

FILLED_KEY = "filled"  # meta of a space: the base's version a completed fill went through, as JSON


@dataclass(frozen=True)
class Coverage:
    """How much of the base a space holds: ``items`` of the base's ``total``; ``complete`` once a
    fill has gone through every item of the base as it is."""

    items: int
    total: int
    complete: bool
    left_out: str = ""  # why a complete space holds fewer items than the base

    def line(self, model: str) -> str:
        """``searched 3,120 of 12,814 items (the vectors of model 'saas' are being computed)``; empty
        when the space holds every item."""
        if self.complete:
            return f"searched {self.items:,} of {self.total:,} items ({self.left_out})" if self.items < self.total else ""
        return f"searched {self.items:,} of {self.total:,} items (the vectors of model '{model}' are being computed)"


def coverage(base: Library, space: Library) -> Coverage:
    filled = json.loads(space.meta().get(FILLED_KEY, "null")) or {}
    return Coverage(len(space), len(base), filled.get("version") == base.version, filled.get("left_out", ""))


def list_spaces(base: Library) -> list[dict]:
    """The base's own model and every space: model, fingerprint, dim, items, folder, complete."""
    meta = base.meta()
    found = []
    if "fingerprint" in meta:
        found.append({"model": meta.get("model", ""), "fingerprint": meta["fingerprint"], "dim": int(meta["dim"]),
                      "items": len(base), "of": len(base), "complete": True, "folder": str(base.directory), "own": True})
    folder = spaces_folder(base)
    for path in sorted(folder.glob("*/library.sqlite3")) if folder.is_dir() else []:
        space = Library(path.parent, read_only=True)
        try:
            space_meta, held = space.meta(), coverage(base, space)
        finally:
            space.close()
        found.append({"model": space_meta.get("model", ""), "fingerprint": space_meta.get("fingerprint", path.parent.name),
                      "dim": int(space_meta.get("dim", 0)), "items": held.items, "of": held.total, "complete": held.complete,
                      "folder": str(path.parent), "own": False})
    return found


def drop_space(base: Library, name: str) -> Path:
    """Remove the space whose fingerprint (or model name, when one space has it) is ``name``."""
    spaces = [s for s in list_spaces(base) if not s["own"]]
    chosen = [s for s in spaces if s["fingerprint"] == name] or [s for s in spaces if s["model"] == name]
    if len(chosen) != 1:
        known = ", ".join(f"{s['fingerprint']} ({s['model']})" for s in spaces) or "none"
        what = "no" if not chosen else "more than one"
        raise Clamp3Error(f"{base.directory}: {what} space named '{name}'; its spaces: {known}")
    folder = Path(chosen[0]["folder"])
    shutil.rmtree(folder)
    return folder


def _base_files(base: Library) -> tuple[list[str], list[str]]:
    """The base's files that exist: symbolic, audio."""
    symbolic, sound = [], []
    for path, modality in base.db.execute("SELECT DISTINCT path, modality FROM items ORDER BY path"):
        absolute = base.absolute(path)
        if not Path(absolute).is_file():
            continue
        (sound if modality == "audio" else symbolic).append(absolute)
    return sorted(set(symbolic)), sorted(set(sound))


def sync(base: Library, space: Library) -> int:
    """Bring the space's items in line with the base: the base's titles and metadata (matched by
    file and name), the items the base no longer has removed. Returns the items changed."""
    wanted = {(str(Path(r.path).resolve()), r.name): (r.title, r.metadata) for r in base.items()}
    changes, gone = [], []
    for row in space.items():
        key = (str(Path(row.path).resolve()), row.name)
        if key not in wanted:
            gone.append(row.id)
        elif wanted[key] != (row.title, row.metadata):
            changes.append((row.id, *wanted[key]))
    changed = space.update_metadata(changes) if changes else 0
    return changed + (space.remove(gone) if gone else 0)


def change_metadata(base: Library, change: Callable[[Library], int], spaces: Sequence[Library] | None = None) -> int:
    """``change(base)``, a change of the base's metadata only (a named set tagged), carried into its
    spaces (those given, or every one beside it): each brought in line (:func:`sync`), and one that
    was complete before stays so, as no file changed; unless another writer changed the base
    meanwhile, which the next fill sees. Returns what ``change`` returned."""
    opened = spaces is None
    if opened:
        folder = spaces_folder(base)
        spaces = [Library(path.parent) for path in sorted(folder.glob("*/library.sqlite3"))] if folder.is_dir() else []
    try:
        before = base.version
        complete = [coverage(base, space).complete for space in spaces]
        changed = change(base)
        for space, was_complete in zip(spaces, complete):
            sync(base, space)
            # only this change since the fill: one that changed nothing bumped nothing, and a version
            # more is then another writer's (conservative: a change whose count is 0 is not stamped)
            if was_complete and changed and base.version == before + 1:
                filled = json.loads(space.meta().get(FILLED_KEY, "null")) or {}
                space.set_meta(FILLED_KEY, json.dumps({**filled, "version": base.version}))
        return changed
    finally:
        for space in spaces if opened else []:
            space.close()


def audio_left_out(files: list[str], model) -> str:
    """Why the base's audio items cannot go into this model's space, or "" when they can: its audio
    items are features (``.npy``) of the extractor the base's model reads, and a model whose audio
    tower reads features of another width cannot use them (the demo library's are 256-d; the
    official models read MERT-v1-95M's 768)."""
    import numpy as np

    width = model.config.audio.hidden_size
    for path in files:
        if path.endswith(".npy"):
            try:
                shape = np.load(path, mmap_mode="r").shape
            except (OSError, ValueError):
                continue
            if shape[-1] != width:
                return f"its audio items are {shape[-1]}-d features; this model's audio tower reads {width}-d ones"
            return ""
    return ""


def fill(base: Library, space: Library, embedder, progress: bool = True, chunk_files: int = 8):
    """Embed the base's items that the space lacks (symbolic first, then audio), resumable, then
    bring titles and metadata in line with the base and mark the space complete for the base's
    version. Returns the ``AddReport`` of this fill."""
    from clamp3.library.store import AddReport

    version = base.version
    symbolic, sound = _base_files(base)
    left_out = audio_left_out(sound, embedder.model)
    if left_out:
        logger.info("%s: the audio items are left out of the space of '%s': %s", base.directory, space.meta().get("model"), left_out)
        sound = []
    rows = base.items()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.path] = counts.get(row.path, 0) + 1
    sidecar: dict[str, dict[str, str]] = {}
    for row in rows:  # a file's metadata by its path; a tune of a book by its name (its file holds several)
        for key in ((row.path, str(Path(row.path).resolve())) if counts[row.path] == 1 else (row.name,)):
            sidecar[key] = {"title": row.title, **row.metadata}
    ids = {(str(Path(row.path).resolve()), row.name): row.id for row in rows}  # the library's ids, kept in the space
    report = AddReport()
    for files in (symbolic, sound):
        if files:
            part = space.add(files, embedder, sidecar=sidecar, chunk_files=chunk_files, progress=progress, item_ids=ids)
            report.written += part.written
            report.replaced += part.replaced
            report.skipped += part.skipped
            report.failures += part.failures
    sync(base, space)
    if base.version == version:
        space.set_meta(FILLED_KEY, json.dumps({"version": version, "left_out": left_out and f"left out: {left_out}"}))
    return report


NICENESS = 10  # the filling child's: queries of the app come first


class BackgroundFill:
    """The app's filling of a space: ``python -m clamp3.library.spaces BASE --weights W`` in a child
    process at niceness NICENESS (so that searches, in the app's process, come first), its output
    appended to ``fill.log`` in the space's folder. Killed or stopped, the next start resumes it."""

    def __init__(
        self, base: Library, space: Library, weights: str, text_model: str | None = None, mert: str | None = None, chunk_files: int = 8,
    ):
        self.command = [sys.executable, "-m", "clamp3.library.spaces", str(base.directory.resolve()), "--weights", str(weights),
                        "--chunk-files", str(chunk_files), "--parent", str(os.getpid())]
        self.command += ["--text-model", text_model] if text_model else []
        self.command += ["--mert", mert] if mert else []
        self.log = space.directory / "fill.log"
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.returncode: int | None = None

    def start(self) -> None:
        """Start the child (once), and a thread that waits for it."""
        import clamp3

        with self._lock:
            if self._process is not None or self._closed:
                return
            with open(self.log, "ab") as log:
                # from the folder above the package, so the child imports this very package
                self._process = subprocess.Popen(self.command, cwd=Path(clamp3.__file__).resolve().parents[1],
                                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                os.setpriority(os.PRIO_PROCESS, self._process.pid, NICENESS)
            except (AttributeError, OSError):  # not a POSIX system, or it has ended already
                pass
        threading.Thread(target=self._wait, name="clamp3-fill", daemon=True).start()

    def _wait(self) -> None:
        self.returncode = self._process.wait()
        if self.returncode and not self._closed:
            logger.warning("filling the space failed (exit %s): %s says why", self.returncode, self.log)
        else:
            logger.info("filling the space ended (exit %s)", self.returncode)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _end_with(parent: int, poll: float = 1.0) -> None:
    """End this process at once when ``parent`` has ended (the app stopped or killed: a fill must not
    outlive it, using a core for nobody). What was committed stays; the next start resumes."""
    while os.getppid() == parent:
        time.sleep(poll)
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    """``python -m clamp3.library.spaces BASE --weights W [--text-model DIR] [--mert DIR]``: fill the
    space of W in the library BASE (the app runs this in the background)."""
    parser = argparse.ArgumentParser(description=main.__doc__.split("\n")[0])
    parser.add_argument("base")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--text-model", default=None)
    parser.add_argument("--mert", default=None)
    parser.add_argument("--chunk-files", type=int, default=8)
    parser.add_argument("--parent", type=int, default=None, help="end when this process (the app) has ended")
    args = parser.parse_args(argv)
    if args.parent:
        threading.Thread(target=_end_with, args=(args.parent,), name="clamp3-parent-watch", daemon=True).start()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from clamp3.assets import library_dir
    from clamp3.embedding import Embedder
    from clamp3.models import load_model

    if is_demo_library(args.base):
        library_dir()  # its music unpacked
    base = Library(args.base, read_only=True)
    from clamp3.features import FeatureCache
    from clamp3.memory import keep_loaded

    model = load_model(args.weights, text_model=args.text_model)
    keep_loaded()  # this process keeps its model to its end
    space = open_space(base, model)
    started = time.perf_counter()
    try:
        embedder = Embedder(model, mert=args.mert, feature_cache=FeatureCache(None))
        report = fill(base, space, embedder, progress=False, chunk_files=args.chunk_files)
    except Clamp3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logger.info("space %s: %s in %.0f s", space.directory, report.summary(), time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
