"""Plain text (``.txt``): one description per line, as the official extractor reads it."""

from __future__ import annotations

from pathlib import Path

from clamp3.errors import InputError
from clamp3.formats.base import Item, decode_utf8, read_bytes

# Far beyond what the embedder reads (it refuses a text of over 4,096 tokens by default).
MAX_TEXT_BYTES = 2**20


def unique_lines(text: str) -> list[str]:
    """Non-empty lines, duplicates dropped, in order of first occurrence.

    The official script de-duplicates through ``set()``, whose order changes from run to run;
    first-occurrence order gives the same set of lines, reproducibly.
    """
    return list(dict.fromkeys(line for line in text.split("\n") if line))


def read_text(path: Path) -> list[Item]:
    text = decode_utf8(path, read_bytes(path, MAX_TEXT_BYTES))
    if not unique_lines(text):
        raise InputError(path, "no text (only blank lines)")
    return [Item(path, path.stem, "text", text)]
