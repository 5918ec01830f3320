"""Audio feature extractors: a waveform -> one vector per 5-second window.

Windows follow the official ``extract_mert.py``: 5 s, no overlap, a last window shorter than
1 s dropped; a recording shorter than that keeps its one window (the official script then
writes nothing at all).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

WINDOW_SECONDS = 5.0
MIN_LAST_SECONDS = 1.0
SPECTRAL_NAME = "spectral-v1"
SPECTRAL_V2_NAME = "spectral-v2"
SPECTRAL_VERSIONS = (SPECTRAL_NAME, SPECTRAL_V2_NAME)  # the weight-free extractors, oldest first
SPECTRAL_DEFAULT = SPECTRAL_NAME  # what "spectral" names: the version the embedded default reads
DEFAULT_MERT = "m-a-p/MERT-v1-95M"


def window_bounds(n_samples: int, sample_rate: int) -> list[tuple[int, int]]:
    size = int(sample_rate * WINDOW_SECONDS)
    bounds = [(start, min(start + size, n_samples)) for start in range(0, n_samples, size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < sample_rate * MIN_LAST_SECONDS:
        bounds.pop()
    return bounds


class AudioExtractor(Protocol):
    """What :class:`clamp3.Preprocess` and ``clamp3 features`` need of an extractor."""

    name: str  # names the features: part of a checkpoint's preprocessing and of cache keys
    sample_rate: int
    dim: int

    def extract(self, waveform: np.ndarray) -> np.ndarray:
        """Mono float32 waveform (samples,) -> features (windows, dim)."""
