"""Patching (interleaved ABC or MTF text -> M3's character patches), unit by unit against all
units at once, on the two folders of ``benchmarks/embed.py``.

"unit by unit" is ``Patchilizer.unit_to_patch`` on every unit and one ``np.asarray`` of the lists,
as ``Patchilizer.encode`` built patches before; "at once" is ``encode`` now (one array, the
characters' code points written by index). Both run in this process over the same texts (read
beforehand; unidecode and the cut into units are inside both), in alternating rounds; the table
gives the best round of each in CPU seconds, and whether every file's patches are identical.
On a GPU patching is the part of embedding left on the CPU (README, "GPU run").

    python benchmarks/patching.py [--rounds 5] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from embed import folder_files  # noqa: E402

from clamp3.models.patchilizer import BOS_ID, EOS_ID, Patchilizer  # noqa: E402


def unit_by_unit(patchilizer: Patchilizer, text: str) -> np.ndarray:
    size = patchilizer.patch_size
    units = [chr(BOS_ID) * size, *patchilizer.units(text), chr(EOS_ID) * size]
    return np.asarray([patchilizer.unit_to_patch(unit) for unit in units], dtype=np.int64).reshape(-1, size)


def cpu_seconds(fn, texts: list[str]) -> float:
    start = time.process_time()
    for text in texts:
        fn(text)
    return time.process_time() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-bench-sample",
                        help="where benchmarks/embed.py's sample folder is built once (needs music21)")
    args = parser.parse_args(argv)
    patchilizer = Patchilizer()
    print("| folder | files | patches | unit by unit: CPU s | at once: CPU s | speed-up | identical |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ("large", "sample"):
        texts = [f.read_text(encoding="utf-8") for f in folder_files(name, args.cache)]
        same = sum(np.array_equal(unit_by_unit(patchilizer, t), patchilizer.encode(t)) for t in texts)
        patches = sum(len(patchilizer.encode(t)) for t in texts)
        before = after = float("inf")
        for _ in range(args.rounds):  # alternating, so that the machine's load weighs on both alike
            before = min(before, cpu_seconds(lambda t: unit_by_unit(patchilizer, t), texts))
            after = min(after, cpu_seconds(patchilizer.encode, texts))
        print(f"| {name} | {len(texts)} | {patches:,} | {before:.3f} | {after:.3f} | {before / after:.1f}x | {same} of {len(texts)} |")


if __name__ == "__main__":
    main()
