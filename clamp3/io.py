"""File discovery and crash-safe writes shared by the batch commands."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np


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


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def existing_outputs(out_dir: Path, base: Path, source: Path, suffix: str) -> list[Path]:
    """Outputs already written for ``source``: ``stem<suffix>``, or ``stem#X<suffix>`` per tune of a book."""
    single = output_path(out_dir, base, source, source.stem, suffix)
    if single.exists():
        return [single]
    folder = single.parent
    return sorted(folder.glob(f"{source.stem}#*{suffix}")) if folder.is_dir() else []


def output_path(out_dir: Path, base: Path, source: Path, name: str, suffix: str) -> Path:
    """``out_dir / <source's folder relative to base> / <name><suffix>``."""
    return out_dir / source.parent.relative_to(base) / f"{name}{suffix}"


def atomic_write(path: Path, write) -> None:
    # Write beside the target and rename, so a crash never leaves a truncated file behind.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda handle: np.save(handle, array))
