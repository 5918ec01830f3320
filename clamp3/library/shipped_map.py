"""The map a library can ship with: ``map.csv`` beside the database, the 2-d coordinates of every
item (per-modality centred UMAP), so that a released library shows its map without computing it.

Written by the release (``demo/release.py``), read by :mod:`clamp3.library.maps`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clamp3.io import atomic_write_text

MAP_NAME = "map.csv"
MAP_COLUMNS = ("id", "x", "y")


def write_shipped_map(folder: str | Path, ids: Sequence[int], points: np.ndarray) -> Path:
    """Write the coordinates ``points`` (N, 2) of the items ``ids`` as ``folder/map.csv``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MAP_COLUMNS)
    for item_id, (x, y) in zip(ids, points):
        writer.writerow([item_id, f"{x:.4f}", f"{y:.4f}"])
    path = Path(folder) / MAP_NAME
    atomic_write_text(path, buffer.getvalue())
    return path


def read_shipped_map(folder: str | Path) -> dict[int, tuple[float, float]] | None:
    """Item id -> (x, y) from ``folder/map.csv``; None when the library ships no map."""
    path = Path(folder) / MAP_NAME
    if not path.exists():
        return None
    with open(path, newline="", encoding="utf-8") as handle:
        return {int(r["id"]): (float(r["x"]), float(r["y"])) for r in csv.DictReader(handle)}
