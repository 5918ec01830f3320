"""Pre-extracted audio features (``.npy``), shaped (1, frames, dim) or (frames, dim)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clamp3.errors import InputError
from clamp3.formats.base import MAX_FILE_BYTES, Item, check_size


def read_features(path: Path) -> list[Item]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    check_size(path, size, MAX_FILE_BYTES)
    try:
        # mapped, not read: a header that claims more data than the file holds is refused
        # instead of allocated; the copy below is then bounded by the file's size
        array = np.array(np.load(path, mmap_mode="r", allow_pickle=False))
    except Exception as exc:  # numpy's header parser raises ValueError, SyntaxError, TokenError, OverflowError, ...
        raise InputError(path, f"not a NumPy .npy array ({type(exc).__name__}: {exc})") from exc
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise InputError(path, f"features must be (1, frames, dim) or (frames, dim), got {array.shape}")
    if array.shape[0] == 0:
        raise InputError(path, "features have no frames")
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(path, f"features must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise InputError(path, "features contain NaN or infinite values")
    return [Item(path, path.stem, "features", array)]
