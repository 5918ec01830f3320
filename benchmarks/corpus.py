"""A reproducible sample of real music for benchmarks: works drawn uniformly at random from the
music21 corpus (every tune of an ABC book counts as a work), written as interleaved ABC and, for
another draw, as MTF through music21's MIDI export. Cached under the folder given.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from clamp3.errors import InputError
from clamp3.formats import read_items
from clamp3.formats.abc import abc_to_interleaved, split_tunes

CORPUS_SUFFIXES = (".abc", ".mxl", ".xml", ".musicxml", ".krn")


def corpus_works() -> list[tuple[Path, str | None]]:
    """[(file, tune number or None)] for every work of the music21 corpus."""
    import music21

    works: list[tuple[Path, str | None]] = []
    for path in sorted(Path(p) for p in music21.corpus.getCorePaths()):
        if path.suffix not in CORPUS_SUFFIXES:
            continue
        if path.suffix == ".abc":
            text = path.read_bytes().decode("utf-8", errors="replace")
            works.extend((path, number) for number, _ in split_tunes(text))
        else:
            works.append((path, None))
    return works


def _abc(path: Path, tune: str | None) -> str:
    if path.suffix != ".abc":
        return read_items(path)[0].data
    text = path.read_bytes().decode("utf-8", errors="replace")
    tunes = dict(split_tunes(text))
    return abc_to_interleaved(tunes[tune], path)


def _mtf(path: Path, tune: str | None, scratch: Path) -> str:
    import music21

    source = path
    if tune:
        source = scratch / "tune.abc"
        source.write_text(dict(split_tunes(path.read_bytes().decode("utf-8", errors="replace")))[tune], encoding="utf-8")
    score = music21.converter.parse(str(source), forceSource=True)
    midi = scratch / "work.mid"
    try:
        score.write("midi", fp=str(midi))
    except Exception:  # music21 fails on some scores (duplicated time signatures); the notes alone work
        score.flatten().notes.stream().write("midi", fp=str(midi))
    return read_items(midi)[0].data


def build_sample(folder: Path, n_abc: int = 100, n_mtf: int = 50, seed: int = 0) -> list[Path]:
    """Write the sample to ``folder`` (once) and return its files."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("*.abc")) + sorted(folder.glob("*.mtf"))
    if len(existing) >= n_abc + n_mtf:
        return existing
    works = corpus_works()
    random.Random(seed).shuffle(works)
    made = {"abc": 0, "mtf": 0}
    with tempfile.TemporaryDirectory() as scratch:
        for index, (path, tune) in enumerate(works):
            kind = "abc" if made["abc"] < n_abc else "mtf"
            if made["mtf"] >= n_mtf and kind == "mtf":
                break
            try:
                text = _abc(path, tune) if kind == "abc" else _mtf(path, tune, Path(scratch))
            except (InputError, Exception):  # noqa: BLE001 - a work that does not convert is skipped
                continue
            (folder / f"{index:05d}_{path.stem}{'_' + tune if tune else ''}.{kind}").write_text(text, encoding="utf-8")
            made[kind] += 1
    return sorted(folder.glob("*.abc")) + sorted(folder.glob("*.mtf"))
