"""The typed object every format reader returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# What each kind of model input is encoded by.
MODALITY_OF_KIND = {"text": "text", "abc": "symbolic", "mtf": "symbolic", "features": "audio", "waveform": "audio"}


@dataclass(frozen=True)
class Item:
    """One unit the model embeds, read from a file.

    ``name`` is the file's stem, or ``stem#X`` for tune X of an ABC tune book; outputs are
    written under that name. ``data`` is a string (text, interleaved ABC, MTF), a float32 array
    of audio features (frames, dim), or a mono float32 waveform (samples,) at 24 kHz.
    """

    source: Path
    name: str
    kind: str
    data: str | np.ndarray

    @property
    def modality(self) -> str:
        return MODALITY_OF_KIND[self.kind]


def read_bytes(path: Path) -> bytes:
    """Read a whole file; an empty one is an input error, not an empty result."""
    from clamp3.errors import InputError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise InputError(path, "file is empty")
    return raw


def decode_utf8(path: Path, raw: bytes) -> str:
    """Decode UTF-8 (BOM tolerated) with universal newlines, as Python's text mode reads it."""
    from clamp3.errors import InputError

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from exc
    if "\x00" in text:
        raise InputError(path, "binary data (NUL bytes) in a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")
