"""Extracted audio features cached by file content, so a second run extracts nothing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from clamp3.io import atomic_save_npy, cache_home


class FeatureCache:
    """``<root>/features/<extractor>/<digest[:2]>/<digest>.npy``; the extractor's name is part of
    the key, so features of different models never mix."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else cache_home()

    def path(self, digest: str, extractor: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", extractor)
        return self.root / "features" / safe / digest[:2] / f"{digest}.npy"

    def get(self, digest: str, extractor: str) -> np.ndarray | None:
        path = self.path(digest, extractor)
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, digest: str, extractor: str, features: np.ndarray) -> None:
        atomic_save_npy(self.path(digest, extractor), features.astype(np.float32, copy=False))
