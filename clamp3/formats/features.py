"""Pre-extracted audio features (``.npy``), shaped (1, frames, dim) or (frames, dim)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clamp3.errors import InputError
from clamp3.formats.base import Item


def read_features(path: Path) -> list[Item]:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(path, f"not a NumPy .npy array ({exc})") from exc
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
