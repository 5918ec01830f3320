"""The M3 patchilizer: interleaved ABC or MTF text -> fixed-size character patches.

ABC is cut into header lines and bars; MTF into messages, consecutive messages of one type
merged into a patch while they fit. Each patch is ``[BOS] + ASCII codes + [EOS]``, cut or
padded to ``patch_size``. With special patches, an all-BOS patch opens and an all-EOS patch
closes the sequence.
"""

from __future__ import annotations

import re

import numpy as np
from unidecode import unidecode

PAD_ID, BOS_ID, EOS_ID, MASK_ID = 0, 1, 2, 3
BAR_DELIMITERS = ("|:", "::", ":|", "[|", "||", "|]", "|")
_BAR_SPLIT_RE = re.compile("(" + "|".join(map(re.escape, BAR_DELIMITERS)) + ")")
_LINE_RE = re.compile(r".*?\n|.*$")


def is_mtf(text: str) -> bool:
    return text.split("\n", 1)[0].split(" ")[0] == "ticks_per_beat"


def split_bars(line: str) -> list[str]:
    """A body line -> bars, each ending with its barline; text after the last barline is dropped."""
    parts = [part for part in _BAR_SPLIT_RE.split(line) if part]
    if len(parts) >= 2 and parts[0] in BAR_DELIMITERS:
        parts = [parts[0] + parts[1]] + parts[2:]
    return [parts[2 * i] + parts[2 * i + 1] for i in range(len(parts) // 2)]


class Patchilizer:
    """Text <-> patches of ``patch_size`` character codes (0-127)."""

    def __init__(self, patch_size: int = 64):
        self.patch_size = patch_size

    def _mtf_units(self, lines: list[str]) -> list[str]:
        units: list[str] = []
        unit = ""
        for line in lines:
            kind, *values = line.split(" ")
            values = " ".join(values)
            if unit.startswith(kind) and len(unit) + len(values) <= self.patch_size - 2:
                unit = unit[:-1] + "\t" + values
            else:
                if unit:
                    units.append(unit)
                unit = line
        if unit:
            units.append(unit)
        return units

    @staticmethod
    def _abc_units(lines: list[str]) -> list[str]:
        units: list[str] = []
        for line in lines:
            if len(line) > 1 and ((line[0].isalpha() and line[1] == ":") or line.startswith("%%")):
                units.append(line)
                continue
            bars = split_bars(line)
            if bars:
                bars[-1] += "\n"
                units.extend(bars)
        return units

    def units(self, text: str) -> list[str]:
        """The strings that become patches (before the special patches)."""
        text = unidecode(text.replace("L:1/8\n", ""))
        lines = [line for line in _LINE_RE.findall(text) if line]
        if not lines:
            return []
        return self._mtf_units(lines) if is_mtf(lines[0]) else self._abc_units(lines)

    def unit_to_patch(self, unit: str) -> list[int]:
        codes = [BOS_ID] + [ord(c) for c in unit] + [EOS_ID]
        codes = codes[: self.patch_size]
        return codes + [PAD_ID] * (self.patch_size - len(codes))

    def encode(self, text: str, add_special_patches: bool = True) -> np.ndarray:
        """Text -> int64 array (patches, patch_size): each unit as :meth:`unit_to_patch` makes it,
        all units at once (per-character Python was most of a file's patching)."""
        units = self.units(text)
        if add_special_patches:
            # Built like any unit, so the closing patch is [BOS, EOS, EOS, ...] as in M3's training.
            units = [chr(BOS_ID) * self.patch_size, *units, chr(EOS_ID) * self.patch_size]
        size = self.patch_size
        patches = np.zeros((len(units), size), dtype=np.int64)  # PAD_ID
        if not units:
            return patches
        patches[:, 0] = BOS_ID
        kept = [unit[: size - 1] for unit in units]  # what fits after BOS
        lengths = np.fromiter(map(len, kept), dtype=np.int64, count=len(kept))
        codes = np.frombuffer("".join(kept).encode("utf-32-le"), dtype=np.uint32)  # one code point each
        rows = np.repeat(np.arange(len(units)), lengths)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        patches[rows, np.arange(codes.size) - starts + 1] = codes
        closed = np.flatnonzero(lengths < size - 1)  # EOS fits only after a unit shorter than size - 1
        patches[closed, lengths[closed] + 1] = EOS_ID
        return patches

    @staticmethod
    def decode(patches: np.ndarray) -> str:
        return "".join(chr(code) for patch in patches for code in patch if code > MASK_ID)
