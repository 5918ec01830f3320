"""``clamp3 classify`` (zero-shot, with text prompts) and ``clamp3 probe train|predict`` (linear probes)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from clamp3.cli.options import MODALITIES, ModelOptions, add_model_options, parse_where, require_paths
from clamp3.errors import Clamp3Error

logger = logging.getLogger("clamp3")


def register(commands) -> None:
    from clamp3.zero_shot import DEFAULT_TEMPERATURE

    classify = commands.add_parser("classify", help="zero-shot classification with text prompts")
    classify.add_argument("files", nargs="*", metavar="FILE", help="files or folders (or --index: a library's items)")
    classify.add_argument("--index", default=None, help="classify the items of this library (of --modality, --where)")
    classify.add_argument("--modality", choices=MODALITIES, help="with --index: only items of this modality")
    classify.add_argument("--where", action="append", metavar="KEY=VALUE", help="with --index: metadata filter (repeatable)")
    classify.add_argument("--write-field", default=None, metavar="NAME",
                          help="with --index: write each item's top class into this metadata field (and its probability "
                               "into NAME_probability), for filters and map colours")
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
    if args.index:
        return _classify_library(args, prompts)
    if args.write_field or args.modality or args.where:
        raise Clamp3Error("--write-field, --modality and --where classify a library: give --index DIR")
    if not args.files:
        raise Clamp3Error("give files or folders to classify, or --index DIR")
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


def _classify_library(args: argparse.Namespace, prompts) -> int:
    """``classify --index DIR``: every item (of --modality, --where) classified from its vector; with
    --write-field its top class and probability written into its metadata."""
    from clamp3.library import Library, model_identity
    from clamp3.zero_shot import ZeroShotClassifier, classify_library

    if args.files:
        raise Clamp3Error("give files or --index DIR, not both")
    require_paths([args.index])
    embedder = ModelOptions.from_args(args).embedder()
    library = Library.open(args.index, read_only=not args.write_field)
    meta = library.meta()
    if meta.get("fingerprint") not in (None, model_identity(embedder.model)["fingerprint"]):
        raise Clamp3Error(f"{args.index} holds the vectors of model '{meta.get('model')}': classify its items with that "
                          "model's weights (--weights)")
    classifier = ZeroShotClassifier.from_prompts(embedder.encode_texts, prompts, args.temperature)
    where = parse_where(args.where)
    if args.write_field:
        written = classify_library(library, classifier, args.write_field, args.modality, where)
        print(f"wrote '{args.write_field}' (and '{args.write_field}_probability') of {written:,} items", file=sys.stderr)
    rows = library.items(args.modality, where)
    prediction = classifier.predict(library.vectors_of([r.id for r in rows])) if rows else None
    for row_number, row in enumerate(rows):
        ranking = prediction.ranking(row_number)
        if args.json:
            print(json.dumps({"id": row.id, "title": row.title, "label": ranking[0][0],
                              "probabilities": {label: p for label, p, _ in ranking}}, ensure_ascii=False))
        else:
            print(f"{row.id}\t{row.title}\t{ranking[0][0]}\t" + "  ".join(f"{label} {p:.3f}" for label, p, _ in ranking))
    return 0


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
