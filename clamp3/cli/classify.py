"""``clamp3 classify`` (zero-shot, with text prompts) and ``clamp3 probe train|predict`` (linear probes)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from clamp3.cli.options import ModelOptions, add_model_options, require_paths
from clamp3.errors import Clamp3Error

logger = logging.getLogger("clamp3")


def register(commands) -> None:
    from clamp3.zero_shot import DEFAULT_TEMPERATURE

    classify = commands.add_parser("classify", help="zero-shot classification with text prompts")
    classify.add_argument("files", nargs="+", metavar="FILE")
    classify.add_argument("--labels", default=None, help="comma-separated classes")
    classify.add_argument("--labels-file", default=None, help="one class per line")
    classify.add_argument("--template", action="append", help="prompt template with {} (repeatable: an ensemble)")
    classify.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                          help=f"softmax temperature over cosines (default: {DEFAULT_TEMPERATURE})")
    classify.add_argument("--json", action="store_true")
    add_model_options(classify)
    classify.set_defaults(func=cmd_classify)

    probe = commands.add_parser("probe", help="linear-probe classification: train, predict")
    actions = probe.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser("train", help="labels from file names (prefix before '_') or a library field")
    train.add_argument("source", nargs="?", metavar="DIR", help="folder of files named LABEL_*.ext")
    train.add_argument("--index", default=None, help="train on a library instead")
    train.add_argument("--label-field", default="title", help="library metadata field holding the label")
    train.add_argument("--out", required=True, help="probe file to write (.json)")
    train.add_argument("--eval-split", type=float, default=0.2)
    train.add_argument("--balanced", action="store_true", help="weight classes by inverse frequency")
    predict = actions.add_parser("predict", help="classify files with a trained probe")
    predict.add_argument("probe", metavar="PROBE")
    predict.add_argument("source", metavar="FILE_OR_DIR")
    for action in (train, predict):
        action.add_argument("--embeddings", action="store_true", help="the folder holds .npy global vectors")
        add_model_options(action)
    probe.set_defaults(func=cmd_probe)


def cmd_classify(args: argparse.Namespace) -> int:
    from clamp3.formats import SUPPORTED_EXTENSIONS
    from clamp3.io import collect_files
    from clamp3.zero_shot import ZeroShotClassifier, checked_prompts, class_prompts

    labels = [label.strip() for label in (args.labels or "").split(",") if label.strip()]
    if args.labels_file:
        labels += [line.strip() for line in Path(args.labels_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    prompts = checked_prompts(class_prompts(labels, args.template or ()))  # bad classes fail before the model loads
    files, missing = collect_files(args.files, SUPPORTED_EXTENSIONS)
    for source in missing:
        logger.error("%s: no such file or folder", source)
    if missing and not files:  # nothing to classify: the model is not loaded for nothing
        return 1
    embedder = ModelOptions.from_args(args).embedder()
    classifier = ZeroShotClassifier.from_prompts(embedder.encode_texts, prompts, args.temperature)
    failures = len(missing)
    for result in embedder.encode_files([p for p, _ in files], workers=args.workers, progress=False):
        if result.error is not None:
            logger.error("%s", result.error)
            failures += 1
            continue
        ranking = classifier.predict(result.embedding.reshape(1, -1)).ranking()
        name = f"{result.source.parent / result.item.name}{result.source.suffix}"
        if args.json:
            print(json.dumps({"file": name, "label": ranking[0][0],
                              "probabilities": {label: p for label, p, _ in ranking},
                              "cosines": {label: c for label, _, c in ranking}}, ensure_ascii=False))
        else:
            print(f"{name}\t{ranking[0][0]}\t" + "  ".join(f"{label} {p:.3f}" for label, p, _ in ranking))
    return 1 if failures else 0


def cmd_probe(args: argparse.Namespace) -> int:
    from clamp3.analysis import label_of, library_probe_data, load_probe, probe_predict, save_probe, train_probe
    from clamp3.folders import embed_folder, encode_query

    options = ModelOptions.from_args(args)
    require_paths([args.index, args.source] if args.action == "train" else [args.probe, args.source])
    if args.action == "train":
        if args.index:
            vectors, labels, model = library_probe_data(args.index, args.label_field)
        elif args.source:
            from clamp3.library import model_identity

            embedder = None if args.embeddings else options.embedder()
            names, vectors = embed_folder(embedder, args.source, args.embeddings)
            labels = [label_of(name) for name in names]
            model = model_identity(embedder.model) if embedder else {}
        else:
            raise Clamp3Error("probe train needs a folder of files named LABEL_*.ext, or --index DIR")
        probe, report = train_probe(vectors, labels, eval_split=args.eval_split, balanced=args.balanced)
        save_probe(probe, args.out, model)
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    probe = load_probe(args.probe)
    embedder = None if args.embeddings else options.embedder()
    if Path(args.source).is_dir():
        names, vectors = embed_folder(embedder, args.source, args.embeddings)
    elif args.embeddings:
        names, vectors = [args.source], np.load(args.source).reshape(1, -1)
    else:
        names, vectors = [args.source], encode_query(embedder, args.source)
    for name, probabilities in zip(names, probe_predict(probe, vectors)):
        best = int(np.argmax(probabilities))
        print(json.dumps({"file": name, "label": probe["classes"][best],
                          "probabilities": dict(zip(probe["classes"], map(float, probabilities)))}, ensure_ascii=False))
    return 0
