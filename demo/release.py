"""Put a trained model and its demo library into ``assets/`` (after each retraining).

    python -m demo.release --model runs/demo/audio/best --data data/demo

1. the model (config + safetensors; the text tower is not copied, it comes from PyPI packages);
2. its held-out evaluation (``metrics.json`` beside the model);
3. the demo library: every work's score (interleaved ABC) and, for the rendered subset, its audio
   features, embedded by the model into a SQLite library with the work's metadata; UMAP map
   coordinates (``map.csv``); the converted music compressed as ``music.tar.xz``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path

from clamp3 import Embedder
from clamp3.embedded import LIBRARY_DIR, MAP_NAME, MODEL_DIR, MUSIC_ARCHIVE, assets_dir
from clamp3.library import Library
from clamp3.models import load_model

METADATA_FIELDS = ("kind", "collection", "region", "country", "province", "tune_type", "function", "composer", "era",
                   "metre", "key", "voices", "split")


def copy_model(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(source / name, tmp / name)
    for keep in ("README.md", "metrics.json"):  # the model card stays; metrics are rewritten below
        if (target / keep).exists():
            shutil.copy2(target / keep, tmp / keep)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def build_library(data: Path, target: Path, workers: int) -> Library:
    works = [json.loads(line) for line in (data / "works.jsonl").read_text(encoding="utf-8").splitlines()]
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    music = tmp / "music"
    sidecar, files = {}, []
    for work in works:
        meta = {k: str(work[k]) for k in METADATA_FIELDS if work.get(k) not in (None, "")}
        meta |= {"title": work.get("title") or work["id"], "work": work["id"]}
        for kind in ("abc", "mtf", "audio"):
            if kind not in work["files"]:
                continue
            destination = tmp / work["files"][kind]
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(data / work["files"][kind], destination)
            if kind != "mtf":  # the library holds the score and the audio; MTF ships for playback
                sidecar[work["files"][kind]] = meta
                files.append(destination)
    model = load_model("default")
    library = Library(tmp, create=True)
    report = library.add(files, Embedder(model, batch_size=32), sidecar=sidecar, workers=workers)
    print(report.summary(), file=sys.stderr)
    if report.failures:
        raise SystemExit(f"{len(report.failures)} files failed: {report.failures[:3]}")
    return library, tmp, music


def write_map(library: Library, folder: Path) -> None:
    from clamp3.analysis import umap_coordinates

    rows = library.items()
    points = umap_coordinates(library.vectors_of([r["id"] for r in rows]), [r["modality"] for r in rows], center=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "x", "y"])
    for row, (x, y) in zip(rows, points):
        writer.writerow([row["id"], f"{x:.4f}", f"{y:.4f}"])
    (folder / MAP_NAME).write_text(buffer.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a trained model folder (e.g. runs/demo/audio/best)")
    parser.add_argument("--data", default="data/demo")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args(argv)
    data, assets = Path(args.data), assets_dir()
    copy_model(Path(args.model), assets / MODEL_DIR)
    if not args.skip_eval:
        from demo.evaluate import evaluate, table

        report = evaluate("default", data, ["en", "de", "fr", "es", "it", "zh", "ja", "ru"])
        (assets / MODEL_DIR / "metrics.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(table(report))
    library, tmp, music = build_library(data, assets / LIBRARY_DIR, args.workers)
    write_map(library, tmp)
    library.close()
    with tarfile.open(tmp / MUSIC_ARCHIVE, "w:xz", preset=9) as tar:
        tar.add(music, arcname="music")
    for extra in tmp.glob("library.sqlite3-*"):  # WAL files of a cleanly closed library are empty
        extra.unlink()
    target = assets / LIBRARY_DIR
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    print(f"released {args.model} and its library to {assets}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
