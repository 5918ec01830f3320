"""The typed object every format reader returns."""

from __future__ import annotations

import os
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


# One file's budget: a bigger file is refused before it is read, so that no input makes a batch
# job hold gigabytes or parse for hours. Readers whose parsing costs more per byte set lower ones.
MAX_FILE_BYTES = 64 * 2**20


# A score's budget, in bars over all its voices (each becomes a patch of the model's input; patching
# costs about 1.1 KB a bar): the CLI's default refuses only what would exhaust memory (the longest
# symphonic movements have some 1,000 bars x 30 parts); ``app.py`` sets a stricter one. Read when a
# score is read, so that worker processes follow the setting of the process that started them.
SCORE_BARS_VARIABLE = "CLAMP3_MAX_SCORE_BARS"
DEFAULT_MAX_SCORE_BARS = 200_000


def budget(variable: str, default: int) -> int:
    """A limit that the environment may set (``app.py`` sets stricter ones than the CLI's defaults),
    read at each use, so that worker processes follow the process that started them."""
    return int(os.environ.get(variable, default))


def max_score_bars() -> int:
    return budget(SCORE_BARS_VARIABLE, DEFAULT_MAX_SCORE_BARS)


def check_score_bars(path: Path, bars: int, what: str) -> None:
    """Refuse a score of more than :func:`max_score_bars` bars over all its voices, before its conversion or patching."""
    from clamp3.errors import InputError

    limit = max_score_bars()
    if bars > limit:
        raise InputError(path, f"{what} has {bars:,} bars over all its voices, over the limit of {limit:,}")


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """Read a whole file of at most ``limit`` bytes; an empty one is an input error, not an empty result."""
    from clamp3.errors import InputError

    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            # a device or pipe reports no size: read one byte past the limit to tell
            raw = file.read(limit + 1) if size <= limit else b""
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror or exc})") from exc
    check_size(path, max(size, len(raw)), limit)
    if not raw.strip():
        raise InputError(path, "file is empty")
    return raw


def check_size(path: Path, size: int, limit: int) -> None:
    from clamp3.errors import InputError

    if size > limit:
        raise InputError(path, f"file is {size / 2**20:.1f} MB, over the {limit / 2**20:g} MB this reader takes")


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
