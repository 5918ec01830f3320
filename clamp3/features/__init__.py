"""Audio features: extractors (MERT, spectral), the feature cache, and audio files -> features."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from clamp3.errors import InputError
from clamp3.features.cache import FeatureCache
from clamp3.features.extractors import (
    DEFAULT_MERT,
    SPECTRAL_DEFAULT,
    SPECTRAL_NAME,
    SPECTRAL_V2_NAME,
    AudioExtractor,
    window_bounds,
)
from clamp3.formats import AUDIO_EXTENSIONS, read_many
from clamp3.io import file_digest


def load_extractor(name: str, mert: str | None = None, device: str = "cpu", batch_size: int = 8) -> AudioExtractor:
    """``spectral-v1`` or ``spectral-v2`` (no weights; ``spectral``: the one the embedded default
    reads), or a MERT hub id / snapshot directory.

    ``mert`` replaces the MERT location a checkpoint names (a local copy of the same model).
    """
    if name == "spectral":  # the version the embedded default reads
        name = SPECTRAL_DEFAULT
    if name == SPECTRAL_NAME:
        from clamp3.features.spectral import SpectralExtractor

        return SpectralExtractor()
    if name == SPECTRAL_V2_NAME:
        from clamp3.features.spectral import SpectralExtractorV2

        return SpectralExtractorV2()
    from clamp3.features.mert import MertExtractor

    return MertExtractor.load(mert or name, device=device, batch_size=batch_size)


def extract_files(
    paths: Sequence[Path],
    extractor: AudioExtractor,
    cache: FeatureCache | None = None,
    workers: int = 0,
) -> Iterator[tuple[Path, np.ndarray | None, InputError | None]]:
    """Audio files -> (path, features (windows, dim), None) or (path, None, error).

    Cached features are returned without decoding; files are decoded in ``workers`` processes.
    """
    digests: dict[Path, str] = {}
    todo = []
    for path in paths:
        if cache is not None:
            try:
                digests[path] = file_digest(path)
            except OSError as exc:
                yield path, None, InputError(path, f"cannot be read ({exc.strerror or exc})")
                continue
            cached = cache.get(digests[path], extractor.name)
            if cached is not None:
                yield path, cached, None
                continue
        todo.append(path)
    for path, items, errors in read_many(todo, workers):
        if errors:
            yield path, None, errors[0]
            continue
        if items[0].kind != "waveform":
            yield path, None, InputError(path, f"not an audio file; expected one of {' '.join(AUDIO_EXTENSIONS)}")
            continue
        features = extractor.extract(items[0].data)
        if cache is not None:
            cache.put(digests[path], extractor.name, features)
        yield path, features, None


__all__ = [
    "DEFAULT_MERT",
    "SPECTRAL_NAME",
    "SPECTRAL_V2_NAME",
    "AudioExtractor",
    "FeatureCache",
    "extract_files",
    "load_extractor",
    "window_bounds",
]
