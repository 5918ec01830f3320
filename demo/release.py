"""Put a trained model and its demo library into ``assets/`` (after each retraining).

    python -m demo.release --model runs/demo/audio/final --data data/demo \
        --runs runs/demo/symbolic,runs/demo/audio-tp,runs/demo/text,runs/demo/audio
    python -m demo.release --evaluate-only --data data/demo     # the shipped release evaluated again

1. the model (config + safetensors; the text tower is not copied, it comes from PyPI packages);
2. the demo library: every work's score (interleaved ABC) and, for the rendered subset, its audio
   features, embedded by the model into a SQLite library with the work's metadata; UMAP map
   coordinates (``map.csv``); its passages (``clamp3.passages``, the default windows); the
   converted music (ABC, MTF for playback, features) compressed as ``music.tar.xz``;
3. its held-out evaluation (``metrics.json``: scores and audio read from the library just built,
   with neighbours on its map; MTF embedded from the corpus) and its model card (``README.md``,
   rendered from ``demo/model_card.md`` with the figures of this model, its data and its training runs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tarfile
from collections import Counter
from pathlib import Path

import yaml

from clamp3 import Embedder
from clamp3.assets import LIBRARY_DIR, MODEL_DIR, MUSIC_ARCHIVE, assets_dir
from clamp3.io import atomic_write_text
from clamp3.library import Library, write_shipped_map
from clamp3.models import load_model
from demo.evaluate import evaluate, read_works, table
from demo.relabel import compact, relabel

METADATA_FIELDS = ("kind", "collection", "region", "country", "province", "tune_type", "function", "composer", "era",
                   "metre", "key", "voices", "bars", "split")  # split: kept for evaluation, never shown
CARD_TEMPLATE = Path(__file__).with_name("model_card.md")
STAGE_KEYS = ("stage", "freeze_text", "freeze_text_model", "text_train_layers", "text_learning_rate", "text_prior", "epochs",
              "batch_size", "learning_rate", "lr_schedule")
_SHOWN_WHEN_SET = {"text_train_layers", "text_learning_rate"}  # a run's config.yaml holds every setting: these only where used


def copy_model(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(source / name, tmp / name)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def rendering_fields(rendering: dict | None) -> dict[str, str]:
    """How a recording was rendered, as fields of its library item (filtered on and shown in the
    app, read back by ``demo.evaluate --library``): instrument, tempo (slow / moderate / fast), bpm
    and dynamics."""
    return {key: str(rendering[key]) for key in ("instrument", "tempo", "bpm", "dynamics") if (rendering or {}).get(key)}


def build_library(data: Path, target: Path, workers: int) -> tuple[Library, Path, Path]:
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    music = tmp / "music"
    sidecar, files = {}, []
    for work in read_works(data):
        meta = {k: str(work[k]) for k in METADATA_FIELDS if work.get(k) not in (None, "")}
        meta |= {"title": work.get("title") or work["id"], "work": work["id"]}
        for kind in ("abc", "mtf", "audio"):
            if kind not in work["files"]:
                continue
            destination = tmp / work["files"][kind]
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(data / work["files"][kind], destination)
            if kind != "mtf":  # the library holds the score and the audio; MTF ships for playback
                sidecar[work["files"][kind]] = meta | (rendering_fields(work.get("rendering")) if kind == "audio" else {})
                files.append(destination)
    model = load_model("default")
    library = Library(tmp, create=True)
    report = library.add(files, Embedder(model, batch_size=32), sidecar=sidecar, workers=workers)
    print(report.summary(), file=sys.stderr)
    if report.failures:
        raise SystemExit(f"{len(report.failures)} files failed: {report.failures[:3]}")
    return library, tmp, music


def write_map(library: Library, folder: Path) -> None:
    from clamp3.library.maps import umap_coordinates

    rows = library.items()
    points = umap_coordinates(library.vectors_of([r.id for r in rows]), [r.modality for r in rows], center=True)
    write_shipped_map(folder, [r.id for r in rows], points)


def run_summary(run: Path, note: str = "") -> str:
    """One line of a training run: its settings, steps, time on this machine and last evaluation;
    ``note`` goes in brackets after its name."""
    config = yaml.safe_load((run / "config.yaml").read_text()) if (run / "config.yaml").exists() else {}
    events = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] if (run / "metrics.jsonl").exists() else []
    steps = [e for e in events if e["event"] == "step"]
    evals = [e for e in events if e["event"] == "eval"]
    settings = ", ".join(f"{k}={config[k]}" for k in STAGE_KEYS if k in config and (config[k] or k not in _SHOWN_WHEN_SET))
    name = f"`{run.name}`" + (f" ({note})" if note else "")
    if not config and not events:
        return f"- {name}: no record of the run ({run} holds no config.yaml or metrics.jsonl)"
    line = f"- {name}: {settings}"
    if steps:
        # elapsed_s restarts with each resumed process: add up the segments (steps redone after a
        # kill, between the last checkpoint and the kill, count as time spent)
        seconds, segments, previous = 0.0, 1, 0.0
        for event in steps:
            if event["elapsed_s"] < previous:
                seconds, segments = seconds + previous, segments + 1
            previous = event["elapsed_s"]
        seconds += previous
        runs_note = f" over {segments} processes (resumed from checkpoints)" if segments > 1 else ""
        line += (f"; {steps[-1]['step']} steps, {seconds / 60:.0f} min on 2 CPU cores{runs_note}, "
                 f"final loss {steps[-1]['loss']:.3f}")
    if evals and "mrr" in evals[-1]:
        line += f"; validation text -> music MRR {evals[-1]['mrr']:.3f}, Hit@10 {evals[-1]['hit@10']:.3f}"
    elif evals:  # M3 runs evaluate their reconstruction loss
        line += f"; validation loss {evals[-1]['loss']:.3f}"
    return line


def earlier_card(card: str) -> dict:
    """What a release that goes on from the shipped model keeps of the shipped card: the lines of
    the stages before (``stages``), the Reproduce section's ``clamp3 train`` lines (``commands``)
    and its note after the release line (``note``)."""
    if "\n## Training\n" not in card or "\n## Evaluation\n" not in card or "\n## Reproduce\n" not in card:
        raise ValueError("not a model card written by demo.release (no Training, Evaluation or Reproduce section)")
    training = card[card.index("\n## Training\n"):card.index("\n## Evaluation\n")]
    reproduce = card[card.index("\n## Reproduce\n"):].splitlines()
    release = next((i for i, line in enumerate(reproduce) if line.startswith("    python -m demo.release")), len(reproduce))
    return {"stages": [line for line in training.splitlines() if line.startswith("- `")],
            "commands": [line for line in reproduce if line.startswith("    clamp3 train ")],
            "note": "\n".join(reproduce[release + 1:]).strip()}


def tuned_text_params(model) -> int:
    """Parameters of the text tower's layers trained with the model (``text_tuned_layers``)."""
    layers = model.text_model.encoder.layer
    return sum(p.numel() for layer in layers[len(layers) - model.config.text_tuned_layers:] for p in layer.parameters()) \
        if model.config.text_tuned_layers else 0


def text_tuned(model) -> str:
    """How much of the packaged text tower was trained with the model, for the card's architecture table."""
    tuned = model.config.text_tuned_layers
    if not tuned:
        return "**frozen**"
    which = "its top layer" if tuned == 1 else f"its top {tuned} layers"
    return f"frozen but {which} ({tuned_text_params(model) / 1e6:.1f}M parameters, trained here and stored in `model.safetensors`)"


def render_card(model_folder: Path, data: Path, report: dict | None, runs: list[Path], earlier: dict | None = None,
                date: str = "") -> str:
    """The model card from ``demo/model_card.md``. With ``earlier`` (``earlier_card`` of the shipped
    card), the runs went on from the shipped model: its stage lines, commands and Reproduce note are
    kept and the runs' lines follow, marked with ``date``."""
    model = load_model("default")
    config = model.config
    works = read_works(data)
    kinds = Counter(w["kind"] for w in works)
    # with a history, each run is marked as going on from the release above, or from the run before it
    stages = [run_summary(run, f"{date}, from {'that stage' if i else 'the release above'}" if earlier else "")
              for i, run in enumerate(runs)]
    commands = [f"    clamp3 train clamp3 --config demo/configs/{run.name}.yaml" for run in runs]
    if earlier:
        stages = earlier["stages"] + stages
        commands = earlier["commands"] + [line for line in commands if line not in earlier["commands"]]

    def count(prefix: str) -> str:
        return f"{sum(p.numel() for n, p in model.named_parameters() if n.startswith(prefix)) / 1e6:.1f}M"

    values = {
        "symbolic_layers": config.symbolic.num_layers, "symbolic_hidden": config.symbolic.hidden_size,
        "symbolic_max": config.symbolic.max_length, "symbolic_params": count("symbolic_model"),
        "audio_layers": config.audio.num_layers, "audio_hidden": config.audio.hidden_size, "audio_params": count("audio_model"),
        "proj_params": f"{sum(count_params(model, n) for n in ('text_proj', 'symbolic_proj', 'audio_proj')) / 1e6:.2f}M",
        "file_mb": f"{(model_folder / 'model.safetensors').stat().st_size / 1e6:.1f}",
        "text_tuned": text_tuned(model),
        "text_in_file": f"{tuned_text_params(model) / 1e6:.1f}M" if config.text_tuned_layers else "none",
        "works": f"{len(works):,}", "essen": f"{kinds['folk']:,}", "fiddle": f"{kinds['fiddle']:,}", "composer": f"{kinds['composer']:,}",
        "audio": f"{sum('audio' in w['files'] for w in works):,}", "heldout": f"{sum(w['split'] == 'heldout' for w in works):,}",
        "val": f"{sum(w['split'] == 'val' for w in works):,}",
        # the training languages each work's texts are written in, as the data has them (demo.build's --text-languages)
        "text_languages": Counter(len(w.get("texts", ())) for w in works).most_common(1)[0][0] if works else 0,
        "stages": "\n".join(stages) or "- (no training runs given to the release)",
        "tables": table(report) if report else "(not evaluated in this release)",
        "commands": "\n".join(commands),
        "reproduce_note": f"\n{earlier['note']}\n" if earlier and earlier["note"] else "",
    }
    return CARD_TEMPLATE.read_text(encoding="utf-8").format(**values)


def evaluate_again(data: Path, assets: Path) -> dict:
    """The shipped model and library evaluated again (after a change to ``demo.evaluate``): its
    ``metrics.json`` and the tables of its card rewritten, the model, the library and the rest of
    the card (its data and training lines, of the release's corpus and runs) untouched."""
    target = assets / MODEL_DIR
    card, metrics = target / "README.md", target / "metrics.json"
    text = card.read_text(encoding="utf-8")
    shipped = table(json.loads(metrics.read_text(encoding="utf-8")))
    if shipped not in text:
        raise SystemExit(f"{card}: its tables are not those of {metrics} (edited by hand?); run the whole release instead")
    report = evaluate("default", data, library=assets / LIBRARY_DIR)
    report["library"] = LIBRARY_DIR
    atomic_write_text(metrics, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    atomic_write_text(card, text.replace(shipped, table(report)))
    return report


def count_params(model, name: str) -> int:
    return sum(p.numel() for p in getattr(model, name).parameters())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a trained model folder (e.g. runs/demo/audio/final)")
    parser.add_argument("--data", default="data/demo")
    parser.add_argument("--runs", default="", help="the training runs behind the model, comma-separated, for the model card")
    parser.add_argument("--continues", action="store_true",
                        help="the runs went on from the shipped model: keep its card's stage lines, commands and Reproduce "
                             "note, and add the runs' lines after them")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--evaluate-only", action="store_true",
                        help="evaluate the shipped model and library again and rewrite metrics.json and the card's tables; nothing is rebuilt")
    args = parser.parse_args(argv)
    data, assets = Path(args.data), assets_dir()
    if args.evaluate_only:
        print(table(evaluate_again(data, assets)))
        return 0
    if not args.model:
        parser.error("--model is required (or --evaluate-only)")
    target = assets / MODEL_DIR
    earlier = None
    if args.continues:  # read before anything is overwritten, and before the hour of work
        try:
            earlier = earlier_card((target / "README.md").read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            parser.error(f"--continues: {target / 'README.md'}: {error}")
    copy_model(Path(args.model), target)
    library, tmp, music = build_library(data, assets / LIBRARY_DIR, args.workers)
    print(relabel(library), file=sys.stderr)  # what demo.relabel gives the shipped library, repeats removed
    write_map(library, tmp)
    from clamp3.passages import build_passages  # passage search on the embedded default (clamp3 search --passages)

    windows = build_passages(library, Embedder(load_model("default"), batch_size=32))
    print(f"{windows:,} passage windows", file=sys.stderr)
    library.close()
    report = None
    if not args.skip_eval:
        # scores and audio from the library just built (its vectors, and its map for the
        # neighbours), MTF from the corpus; every language demo.texts writes, training and held-out
        report = evaluate("default", data, library=tmp)
        report["library"] = LIBRARY_DIR  # the folder it is renamed to under the assets folder, not this machine's path
        (target / "metrics.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(table(report))
    runs = [Path(r) for r in args.runs.split(",") if r]
    card = render_card(target, data, report, runs, earlier, date=datetime.date.today().isoformat())
    (target / "README.md").write_text(card, encoding="utf-8")
    compact(tmp)
    with tarfile.open(tmp / MUSIC_ARCHIVE, "w:xz", preset=9) as tar:
        tar.add(music, arcname="music")
    shutil.rmtree(music)  # unpacked from the archive on first use
    shutil.rmtree(assets / LIBRARY_DIR, ignore_errors=True)
    tmp.rename(assets / LIBRARY_DIR)
    print(f"released {args.model} and its library to {assets}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
