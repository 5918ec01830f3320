"""Reading scores, before and after plain ABC tunes skip the MusicXML round trip, and what that does
to ``clamp3 embed`` with the embedded default.

Folders, made once under ``--cache`` from works drawn at random from music21's corpus (seed 0;
each tune of an ABC book counts as a work, as in benchmarks/corpus.py):

- ``raw``: the works as music21 ships them: an ABC tune as a file of its own, other works copied
  (``.mxl``, ``.xml``, ``.krn``);
- ``converted``: ``clamp3 convert`` of ``raw``, the official pipeline's output (interleaved ABC).

"before" is the package at ``--before`` (default ae073f8, where this work started), exported with
``git archive``; "after" is this checkout. Each side runs in fresh interpreters, in rounds, so that
other work on the machine weighs on both alike. Reading times the reader alone (``read_items`` on
every file, CPU time of the loop, converters imported beforehand); embedding times the whole
``clamp3 embed --global`` command with the embedded default (CPU seconds of the child: imports,
model loading, reading and the model). Both print whether the two sides' outputs are identical.

    python benchmarks/reading.py [--works 250] [--runs 2] [--check]

``--check`` reads every tune of music21's ABC books on both sides and compares them byte for byte
(12,978 tunes: 8.5 CPU minutes for both sides, 19 minutes on 2 loaded cores).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(Path(__file__).parent), str(ROOT)]
from corpus import corpus_works  # noqa: E402

from clamp3.formats.abc import split_tunes  # noqa: E402
from clamp3.formats.base import decode_utf8  # noqa: E402

# Run in a child with the side's package first on its path: reads files, prints JSON.
READER = """
import hashlib, json, sys, time
from pathlib import Path
import abctoolkit.abc2xml, abctoolkit.xml2abc  # imported before the clock starts, on both sides
from clamp3.formats import try_read_items
paths = [Path(line) for line in open(sys.argv[1]).read().splitlines()]
start = time.process_time()
results = [try_read_items(path) for path in paths]
seconds = time.process_time() - start
digest = {str(p): hashlib.sha1(repr([i.data for i in items] + [e.reason for e in errors]).encode()).hexdigest()
          for p, (items, errors) in zip(paths, results)}
print(json.dumps({"seconds": seconds, "digest": digest}))
"""
# Every tune of the corpus's ABC books through abc_to_interleaved: {name: text or error}.
TUNES = """
import json, sys
from pathlib import Path
from clamp3.errors import InputError
from clamp3.formats.abc import abc_to_interleaved
out = {}
for name, tune in json.load(open(sys.argv[1])):
    try:
        out[name] = abc_to_interleaved(tune, Path(name))
    except InputError as exc:
        out[name] = "error: " + exc.reason
json.dump(out, open(sys.argv[2], "w"))
"""


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def export(revision: str, folder: Path) -> Path:
    """The package at ``revision``, exported to ``folder`` (once)."""
    if not (folder / "clamp3").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", revision, "clamp3"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def child(root: Path, args: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float, float]:
    """(result, wall seconds, CPU seconds) of a fresh interpreter with ``root``'s package."""
    environment = {**os.environ, "PYTHONPATH": str(root), "CLAMP3_ASSETS": str(ROOT / "assets")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=root, env=environment, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise RuntimeError(f"{args[:3]} failed in {root}:\n{result.stderr[-3000:]}")
    return result, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_folders(cache: Path, n_works: int) -> tuple[Path, Path]:
    raw, converted = cache / f"raw-{n_works}", cache / f"converted-{n_works}"
    if not raw.is_dir():
        works = corpus_works()
        random.Random(0).shuffle(works)
        tmp = cache / "raw.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for index, (path, tune) in enumerate(works[:n_works]):
            name = f"{index:05d}_{path.parent.name}_{path.stem}"
            if tune is None:
                shutil.copy(path, tmp / f"{name}{path.suffix}")
            else:
                text = dict(split_tunes(decode_utf8(path, path.read_bytes())))[tune]
                (tmp / f"{name}_{tune}.abc").write_text(text, encoding="utf-8")
        tmp.rename(raw)
    if not converted.is_dir():
        child(ROOT, ["-m", "clamp3.cli", "convert", str(raw), "--out", str(converted), "-q"])
    return raw, converted


def read_files(root: Path, paths: list[Path], scratch: Path) -> tuple[float, dict[str, str]]:
    listing = scratch / "paths.txt"
    listing.write_text("\n".join(map(str, paths)))
    result, _, _ = child(root, ["-c", READER, str(listing)])
    data = json.loads(result.stdout)
    return data["seconds"], data["digest"]


def embed(root: Path, source: Path, out: Path) -> tuple[float, float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    _, wall, cpu = child(root, ["-m", "clamp3.cli", "embed", str(source), "--out", str(out), "--global", "-q"])
    import numpy as np

    vectors = {str(p.relative_to(out)): np.load(p) for p in sorted(out.rglob("*.npy"))}
    return wall, cpu, vectors


def check_corpus(sides: dict[str, Path], scratch: Path) -> None:
    import music21

    tunes = []
    for path in sorted(Path(p) for p in music21.corpus.getCorePaths() if str(p).endswith(".abc")):
        text = decode_utf8(path, path.read_bytes())
        tunes += [(f"{path.parent.name}/{path.name}#{number}", tune) for number, tune in split_tunes(text)]
    (scratch / "tunes.json").write_text(json.dumps(tunes))
    outputs = {}
    for side, root in sides.items():
        _, wall, cpu = child(root, ["-c", TUNES, str(scratch / "tunes.json"), str(scratch / f"{side}.json")])
        outputs[side] = json.loads((scratch / f"{side}.json").read_text())
        print(f"{side}: {len(tunes)} tunes read in {cpu:.0f} CPU s ({wall:.0f} s)", flush=True)
    from clamp3.formats.plain_abc import plain_tune_to_interleaved

    plain = sum(plain_tune_to_interleaved(tune) is not None for _, tune in tunes)
    differ = [name for name, _ in tunes if outputs["before"][name] != outputs["after"][name]]
    print(f"\nmusic21's ABC books: {len(tunes)} tunes, {plain} of them plain; "
          f"before and after identical for {len(tunes) - len(differ)}, different for {len(differ)} {differ[:10]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--works", type=int, default=250, help="works in the raw folder (default: 250)")
    parser.add_argument("--runs", type=int, default=2, help="rounds; the tables give medians (default: 2)")
    parser.add_argument("--before", default="ae073f8", help="git revision of the 'before' side (default: ae073f8)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-bench-reading")
    parser.add_argument("--check", action="store_true", help="compare both sides on every tune of music21's ABC books")
    args = parser.parse_args()

    sides = {"before": export(args.before, args.cache / f"package-{args.before}"), "after": ROOT}
    scratch = Path(tempfile.mkdtemp(prefix="clamp3-reading-"))
    print(f"load average at the start: {load_average()} on {os.cpu_count()} CPUs "
          "(other work runs on this machine: it is not idle; ratios within a round are what count)", flush=True)
    if args.check:
        check_corpus(sides, scratch)
        print(f"load average at the end: {load_average()}")
        return

    raw_folder, converted_folder = make_folders(args.cache, args.works)
    raw = sorted(raw_folder.iterdir())
    folders = {
        "raw ABC tunes (music21's books, a file per tune)": [p for p in raw if p.suffix == ".abc"],
        "raw scores (.mxl .xml .krn)": [p for p in raw if p.suffix != ".abc"],
        f"interleaved ABC from `clamp3 convert` of the {len(raw)} raw works": sorted(converted_folder.glob("*.abc")),
    }
    abc_only = scratch / "raw-abc"
    abc_only.mkdir()
    for path in folders["raw ABC tunes (music21's books, a file per tune)"]:
        shutil.copy(path, abc_only / path.name)
    embed_folders = {f"the {len(raw)} raw works": raw_folder, f"their {len(list(abc_only.iterdir()))} ABC tunes": abc_only}
    warm = scratch / "warm"
    warm.mkdir()
    for path in raw[:3]:
        shutil.copy(path, warm / path.name)
    for root in sides.values():  # warm-up: the embedded model's text tower is built on first use
        embed(root, warm, scratch / "warm-out")

    reading: dict[tuple[str, str], list[float]] = {}
    digests: dict[tuple[str, str], dict[str, str]] = {}
    embedding: dict[tuple[str, str], list[float]] = {}
    vectors: dict[tuple[str, str], dict] = {}
    for round_ in range(args.runs):
        order = list(sides.items()) if round_ % 2 == 0 else list(sides.items())[::-1]  # neither side always first
        for side, root in order:
            for label, paths in folders.items():
                seconds, digests[label, side] = read_files(root, paths, scratch)
                reading.setdefault((label, side), []).append(seconds)
            for label, folder in embed_folders.items():
                _, cpu, vectors[label, side] = embed(root, folder, scratch / f"out-{side}")
                embedding.setdefault((label, side), []).append(cpu)
    load_end = load_average()

    print("\nReading alone (`read_items` on every file; CPU time, medians):\n")
    print("| files | before: files/s | after: files/s | speed-up | outputs identical |\n|---|---:|---:|---:|---:|")
    for label, paths in folders.items():
        before, after = (statistics.median(reading[label, side]) for side in sides)
        same = sum(digests[label, "before"][k] == digests[label, "after"][k] for k in digests[label, "after"])
        print(f"| {label}: {len(paths)} | {len(paths) / before:.1f} | {len(paths) / after:.1f} | "
              f"{before / after:.2f}x | {same} of {len(paths)} |")

    import numpy as np

    print("\n`clamp3 embed --global` with the embedded default (the whole command's CPU seconds, medians):\n")
    print("| files | before: CPU s | after: CPU s | before: files per CPU-s | after: files per CPU-s | speed-up | max abs difference |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label in embed_folders:
        before, after = (statistics.median(embedding[label, side]) for side in sides)
        old, new = vectors[label, "before"], vectors[label, "after"]
        difference = max((float(np.abs(old[k] - new[k]).max()) for k in old.keys() & new.keys()), default=0.0)
        n = len(new)
        print(f"| {label} ({n} embedded after, {len(old)} before) | {before:.1f} | {after:.1f} | {n / before:.2f} | "
              f"{n / after:.2f} | {before / after:.2f}x | {difference:.1e} |")
    print(f"load average at the end: {load_end}")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
