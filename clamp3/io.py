"""File discovery and crash-safe writes shared by the batch commands."""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from clamp3.errors import ConfigError, Hint

# Read once, at import (reading it means setting it): outputs get the mode a plain open() gives.
_UMASK = os.umask(0)
os.umask(_UMASK)


def collect_files(
    sources: Iterable[str | Path], extensions: Iterable[str]
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Files named or found (recursively, sorted) under ``sources``.

    Returns ``[(file, base)]`` where ``base`` is the folder outputs are made relative to (the
    folder given, or a named file's parent), and the sources that do not exist.
    """
    extensions = tuple(ext.lower() for ext in extensions)
    found: list[tuple[Path, Path]] = []
    missing: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in extensions)
            found.extend((file, path) for file in files)
        elif path.is_file():
            found.append((path, path.parent))
        else:
            missing.append(str(source))
    return found, missing


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` (from 0) of a batch of files, for one process of many.

    A file's part is a stable hash of its path relative to the folder given, so every process
    of a job, on any machine, computes the same parts from the same folders, each file is in
    exactly one part, and files added later move no other file.
    """

    index: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """``I/N``, or ``auto``: ``RANK`` and ``WORLD_SIZE`` as ``torchrun`` sets them (0/1 without)."""
        if spec == "auto":
            index, count = os.environ.get("RANK", "0"), os.environ.get("WORLD_SIZE", "1")
        else:
            index, _, count = spec.partition("/")
        try:
            shard = cls(int(index), int(count))
        except ValueError:
            shard = None
        if shard is None or not 0 <= shard.index < shard.count:
            raise ConfigError(f"part {spec!r}: expected I/N with 0 <= I < N (e.g. 0/8), or auto (RANK/WORLD_SIZE of torchrun)",
                              hint=Hint("name one part of the files", "shard"))
        return shard

    def keeps(self, file: Path, base: Path) -> bool:
        key = file.relative_to(base).as_posix().encode("utf-8", "surrogateescape")
        return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % self.count == self.index

    def select(self, files: Iterable[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
        """The ``(file, base)`` pairs of ``collect_files`` that are in this part."""
        return [(file, base) for file, base in files if self.keeps(file, base)]


def cache_home() -> Path:
    """Where derived files are kept (features, built text towers, tokenizer copies): ``$CLAMP3_CACHE``
    or ``~/.cache/clamp3``."""
    return Path(os.environ.get("CLAMP3_CACHE", Path.home() / ".cache" / "clamp3"))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def existing_outputs(out_dir: Path, base: Path, source: Path, suffix: str) -> list[Path]:
    """Outputs already written for ``source``: ``stem<suffix>``, or ``stem#X<suffix>`` per tune of a book.

    None while a temporary file of its outputs remains: a run killed between the tunes of a book
    leaves them, and the book is written again.
    """
    single = output_path(out_dir, base, source, source.stem, suffix)
    folder = single.parent
    if not folder.is_dir() or unfinished_outputs(out_dir, base, source, suffix):
        return []
    if single.exists():
        return [single]
    return sorted(folder.glob(f"{glob.escape(source.stem)}#*{suffix}"))


def unfinished_outputs(out_dir: Path, base: Path, source: Path, suffix: str) -> list[Path]:
    """Temporary files that a killed run left for the outputs of ``source``."""
    folder = output_path(out_dir, base, source, source.stem, suffix).parent
    stem = glob.escape(source.stem)
    return sorted(folder.glob(f".{stem}{suffix}.*.tmp")) + sorted(folder.glob(f".{stem}#*{suffix}.*.tmp"))


def output_path(out_dir: Path, base: Path, source: Path, name: str, suffix: str) -> Path:
    """``out_dir / <source's folder relative to base> / <name><suffix>``."""
    return out_dir / source.parent.relative_to(base) / f"{name}{suffix}"


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through ``write(handle)``; a crash never leaves a truncated file behind."""
    atomic_write_many([(path, write)])


def atomic_write_many(files: Sequence[tuple[Path, Callable[[BinaryIO], object]]]) -> None:
    """Write files that belong together (the tunes of one book): each to a temporary name beside
    its target, then all renamed. A process killed before the last rename leaves temporary files
    (``.<name>.*.tmp``), by which :func:`existing_outputs` knows the group is not complete."""
    temporary: list[Path] = []
    try:
        for path, write in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temporary.append(Path(name))
            os.chmod(name, 0o666 & ~_UMASK)  # mkstemp makes it private; the output gets the usual mode
            with os.fdopen(fd, "wb") as handle:
                write(handle)
        for tmp, (path, _) in zip(temporary, files):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temporary:
            tmp.unlink(missing_ok=True)
        raise


def write_outputs(out_dir: Path, base: Path, source: Path, suffix: str, files: Sequence[tuple[Path, Callable[[BinaryIO], object]]]) -> None:
    """The outputs of ``source``, written together; then the temporary files an earlier killed run
    left for them are removed."""
    atomic_write_many(files)
    for tmp in unfinished_outputs(out_dir, base, source, suffix):
        tmp.unlink(missing_ok=True)


def text_writer(text: str) -> Callable[[BinaryIO], object]:
    return lambda handle: handle.write(text.encode("utf-8"))


def npy_writer(array: np.ndarray) -> Callable[[BinaryIO], object]:
    return lambda handle: np.save(handle, array)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text_writer(text))


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    atomic_write(path, npy_writer(array))
