"""The ``clamp3`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from clamp3.errors import Clamp3Error

logger = logging.getLogger("clamp3")

DTYPES = ("float32", "bfloat16", "float16")


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--weights", default="default",
        help="'default' (the small multilingual model in assets/), a preset (saas, c2: the official weights), "
        "a model directory, an official .pth file or a hub id (default: default)",
    )
    group.add_argument(
        "--text-model", default=None,
        help="tokenizer and text config for an official .pth: a directory or hub id (default: FacebookAI/xlm-roberta-base)",
    )
    group.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    group.add_argument("--dtype", default="float32", choices=DTYPES)
    group.add_argument("--batch-size", type=int, default=16, help="segments per forward pass (default: 16)")
    group.add_argument("--workers", type=int, default=1, help="processes reading and converting files (default: 1)")
    group.add_argument("--mert", default=None, help="a local copy (folder) of the MERT model the weights name")
    _add_audio_args(group)


def _add_audio_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", default=None, help="feature cache folder (default: $CLAMP3_CACHE or ~/.cache/clamp3)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")


def _resolve_device(name: str) -> str:
    """'auto': cuda when available. Under torchrun, 'auto' and 'cuda' mean the GPU of this
    process's LOCAL_RANK (each process of a machine on its own GPU)."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return name


def _add_shard_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard", default=None, metavar="I/N",
        help="do part I of N (from 0) of the files, chosen by a hash of each path: one process of a job "
        "(a shell loop, a job array), or 'auto' under torchrun (RANK/WORLD_SIZE)",
    )


def shard_from_args(args: argparse.Namespace):
    """The --shard part, or None; under torchrun without --shard every process would do every file."""
    from clamp3.io import Shard

    if args.shard is not None:
        return Shard.parse(args.shard)
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world > 1:
        raise Clamp3Error(
            f"{args.command} runs in {world} processes (WORLD_SIZE={world}) without --shard: every process would do "
            "every file; add --shard auto (or --shard 0/1 for every file in each)"
        )
    return None


def load_model_from_args(args: argparse.Namespace):
    import torch

    from clamp3.models import load_model

    return load_model(
        args.weights, text_model=args.text_model, device=_resolve_device(args.device), dtype=getattr(torch, args.dtype)
    )


def cmd_convert(args: argparse.Namespace) -> int:
    from clamp3.convert import convert_files

    report = convert_files(
        args.sources, args.out, workers=args.workers, overwrite=args.overwrite, progress=not args.quiet, shard=shard_from_args(args)
    )
    print(report.summary("converted"), file=sys.stderr)
    return 1 if report.failures else 0


def _feature_cache(args: argparse.Namespace):
    from clamp3.features import FeatureCache

    return None if args.no_cache else FeatureCache(args.cache_dir)


def _batch_inputs(args: argparse.Namespace, extensions) -> tuple[list[tuple[Path, Path]], list[str]]:
    """The (file, base) pairs of this process's part of ``args.sources``, and a failure line
    (logged) for each source that does not exist."""
    from clamp3.io import collect_files

    files, missing = collect_files(args.sources, extensions)
    shard = shard_from_args(args)
    failures = [f"{source}: no such file or folder" for source in missing]
    for line in failures:
        logger.error("%s", line)
    return (shard.select(files) if shard else files), failures


def cmd_features(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from clamp3.features import extract_files, load_extractor
    from clamp3.formats import AUDIO_EXTENSIONS
    from clamp3.io import atomic_save_npy, output_path

    files, failures = _batch_inputs(args, AUDIO_EXTENSIONS)
    out_dir = Path(args.out)
    bases = dict(files)
    todo = [p for p, b in files if args.overwrite or not output_path(out_dir, b, p, p.stem, ".npy").exists()]
    extractor = load_extractor(args.extractor if args.extractor != "mert" else args.mert, device=_resolve_device(args.device))
    written = 0
    with tqdm(total=len(todo), unit="file", desc="extracting", disable=args.quiet) as bar:
        for path, features, error in extract_files(todo, extractor, _feature_cache(args), args.workers):
            bar.update(1)
            if error is not None:
                failures.append(str(error))
                logger.error("%s", error)
                continue
            # (1, windows, dim), the official extract_mert.py layout
            atomic_save_npy(output_path(out_dir, bases[path], path, path.stem, ".npy"), features[None])
            written += 1
    print(f"extracted {written}, skipped {len(files) - len(todo)} existing, failed {len(failures)}", file=sys.stderr)
    return 1 if failures else 0


def cmd_embed(args: argparse.Namespace) -> int:
    from clamp3.embedding import Embedder
    from clamp3.formats import SUPPORTED_EXTENSIONS
    from clamp3.io import existing_outputs, npy_writer, output_path, write_outputs

    files, failures = _batch_inputs(args, SUPPORTED_EXTENSIONS)
    bases = dict(files)
    out_dir = Path(args.out)
    todo = [path for path, base in files if args.overwrite or not existing_outputs(out_dir, base, path, ".npy")]
    skipped = len(files) - len(todo)
    embedder = Embedder(
        load_model_from_args(args),
        batch_size=args.batch_size,
        max_text_tokens=args.max_text_tokens,
        mert=args.mert,
        feature_cache=_feature_cache(args),
    )
    written: dict[Path, Path] = {}
    group: list = []  # the outputs of one source (the tunes of a book arrive one after another), written together
    source = None

    def write_group() -> None:
        if group:
            write_outputs(out_dir, bases[source], source, ".npy", group)
            group.clear()

    for result in embedder.encode_files(todo, pooled=args.get_global, workers=args.workers, progress=not args.quiet):
        if result.error is not None:
            failures.append(str(result.error))
            logger.error("%s", result.error)
            continue
        target = output_path(out_dir, bases[result.source], result.source, result.item.name, ".npy")
        if target in written:
            message = f"{result.source}: output {target} is already written for {written[target]}; rename one of them"
            failures.append(message)
            logger.error("%s", message)
            continue
        if result.source != source:
            write_group()
            source = result.source
        group.append((target, npy_writer(result.embedding)))
        written[target] = result.source
    write_group()
    print(f"embedded {len(written)}, skipped {skipped} existing, failed {len(failures)}", file=sys.stderr)
    return 1 if failures else 0


def _add_retrieval_commands(commands) -> None:
    from clamp3 import commands as retrieval

    index = commands.add_parser("index", help="a persistent library: add, list, prune, info")
    actions = index.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="embed new and changed files into the library")
    add.add_argument("sources", nargs="+", metavar="SRC", help="files or folders (searched recursively)")
    add.add_argument("--meta", default=None, help="CSV or JSONL with a 'path' column: metadata joined by path")
    add.add_argument("--chunk-files", type=int, default=32, help="files per transaction (default: 32)")
    add.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_shard_arg(add)
    _add_model_args(add)
    listing = actions.add_parser("list", help="list items")
    listing.add_argument("--modality", choices=["text", "symbolic", "audio"])
    listing.add_argument("--where", action="append", metavar="KEY=VALUE", help="metadata filter (repeatable)")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true")
    actions.add_parser("prune", help="drop items whose files are gone")
    actions.add_parser("info", help="counts, model, size")
    for action in actions.choices.values():
        action.add_argument("--index", required=True, help="library folder")
    index.set_defaults(func=retrieval.cmd_index)

    search = commands.add_parser(
        "search", help="nearest items to a text or a file",
        description="Search a library (--index DIR) or, as the official clamp3_search.py, a folder of files (REF_DIR).",
    )
    search.add_argument("query", metavar="QUERY", help="a text in any language, or a file of any modality")
    search.add_argument("reference", nargs="?", metavar="REF_DIR", help="a folder of files to rank (official form)")
    search.add_argument("--index", default=None, help="library folder (default: the demo library, with --weights default)")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--modality", choices=["text", "symbolic", "audio"])
    search.add_argument("--where", action="append", metavar="KEY=VALUE", help="metadata filter (repeatable)")
    search.add_argument("--json", action="store_true", help="one JSON object per result")
    _add_model_args(search)
    search.set_defaults(func=retrieval.cmd_search)

    for name, helptext in (("score", "similarity of query files to the reference files they pair with"),
                           ("eval", "retrieval metrics: MRR, Hit@1/10/100, ranks")):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("query_dir", metavar="QUERY_DIR")
        command.add_argument("reference_dir", metavar="REF_DIR")
        command.add_argument("--embeddings", action="store_true", help="the folders hold .npy global vectors (official layout)")
        _add_model_args(command)
        if name == "score":
            command.add_argument("--group", action="store_true", help="cosine of the two mean vectors")
            command.add_argument("--out", default="pairwise_similarities.jsonl")
            command.set_defaults(func=retrieval.cmd_score)
        else:
            command.add_argument("--out", default="retrieval_ranks.jsonl")
            command.set_defaults(func=retrieval.cmd_eval)

    classify = commands.add_parser("classify", help="zero-shot classification with text prompts")
    classify.add_argument("files", nargs="+", metavar="FILE")
    classify.add_argument("--labels", default=None, help="comma-separated classes")
    classify.add_argument("--labels-file", default=None, help="one class per line")
    classify.add_argument("--template", action="append", help="prompt template with {} (repeatable: an ensemble)")
    classify.add_argument("--temperature", type=float, default=0.01, help="softmax temperature over cosines")
    classify.add_argument("--json", action="store_true")
    _add_model_args(classify)
    classify.set_defaults(func=retrieval.cmd_classify)

    distance = commands.add_parser("distance", help="Fréchet distance between two sets of music")
    distance.add_argument("reference", metavar="REF")
    distance.add_argument("generated", metavar="GEN")
    distance.add_argument("--bootstrap", type=int, default=100, help="bootstrap samples for the 95%% interval")
    distance.add_argument("--embeddings", action="store_true", help="the folders hold .npy global vectors")
    _add_model_args(distance)
    distance.set_defaults(func=retrieval.cmd_distance)


def _add_analysis_commands(commands) -> None:
    from clamp3 import commands as retrieval

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
        _add_model_args(action)
    probe.set_defaults(func=retrieval.cmd_probe)

    mapping = commands.add_parser("map", help="a UMAP map of a library (HTML or CSV)")
    mapping.add_argument("--index", required=True)
    mapping.add_argument("--out", required=True, help="map.html (interactive) or map.csv")
    mapping.add_argument("--color-by", default=None, help="metadata field to colour by (default: modality)")
    mapping.add_argument("--modality", choices=["text", "symbolic", "audio"])
    mapping.add_argument("--center", action="store_true", help="centre each modality so they overlay")
    mapping.set_defaults(func=retrieval.cmd_map)


def cmd_train(args: argparse.Namespace) -> int:
    import dataclasses

    import yaml

    from clamp3.training import TrainConfig, train

    config_path, quiet, overrides = None, False, []
    settings = iter(args.settings)
    for word in settings:
        if word == "--config":
            config_path = next(settings, None)
        elif word in ("-q", "--quiet"):
            quiet = True
        else:
            overrides.append(word)
    values: dict = {}
    if config_path:
        try:
            values = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
            raise Clamp3Error(f"{config_path}: not a readable YAML file of training settings ({reason})") from exc
        if not isinstance(values, dict):
            raise Clamp3Error(f"{config_path}: expected a mapping of training settings (key: value lines)")
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or key not in fields:
            raise Clamp3Error(f"override '{override}' is not key=value with a key of {sorted(fields)}")
        values[key] = yaml.safe_load(raw)
    unknown = set(values) - set(fields)
    if unknown:
        raise Clamp3Error(f"unknown training settings {sorted(unknown)}")
    values["objective"] = args.objective
    config = TrainConfig(**values)  # a bad value is one line before the progress bar draws
    from tqdm.auto import tqdm

    bar = tqdm(unit="step", desc="training", disable=quiet)

    def show(event: dict) -> None:
        if event["event"] == "step":
            bar.total = event["total"]
            bar.n = event["step"]
            bar.set_postfix(loss=f"{event['loss']:.4f}", lr=f"{event['lr']:.2e}")
        elif event["event"] == "eval":
            bar.write(json.dumps(event), file=sys.stderr)

    final = train(config, on_event=show)
    bar.close()
    print(f"trained model: {final}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clamp3", description="CLaMP 3: one embedding space for text, sheet music, MIDI and audio."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    convert = commands.add_parser(
        "convert", help="scores -> interleaved ABC, MIDI -> MTF",
        description="Convert MusicXML/ABC/Humdrum/MEI/... to interleaved ABC and MIDI to MTF, as the official preprocessing.",
    )
    convert.add_argument("sources", nargs="+", metavar="SRC", help="files or folders (searched recursively)")
    convert.add_argument("--out", required=True, help="output folder; mirrors each file's path under the folder given")
    convert.add_argument("--workers", type=int, default=1, help="conversion processes (default: 1)")
    convert.add_argument("--overwrite", action="store_true", help="convert again even where the output exists")
    convert.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_shard_arg(convert)
    convert.set_defaults(func=cmd_convert)

    embed = commands.add_parser(
        "embed", help="embed texts, scores, MIDI and audio",
        description="Write one .npy per input: (1, D) global vectors with --global, else (1, T, H) per-step features.",
    )
    embed.add_argument("sources", nargs="+", metavar="SRC", help="files or folders (searched recursively)")
    embed.add_argument("--out", required=True, help="output folder")
    embed.add_argument("--global", dest="get_global", action="store_true", help="one vector per input")
    embed.add_argument("--max-text-tokens", type=int, default=4096, help="longest text accepted (default: 4096)")
    embed.add_argument("--overwrite", action="store_true", help="embed again even where the output exists")
    embed.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_shard_arg(embed)
    _add_model_args(embed)
    embed.set_defaults(func=cmd_embed)
    _add_retrieval_commands(commands)
    _add_analysis_commands(commands)

    training = commands.add_parser("train", help="contrastive training of CLaMP 3 on text-music pairs")
    training.add_argument("objective", choices=["clamp3", "m3"])
    training.add_argument(
        "settings", nargs=argparse.REMAINDER, metavar="[--config CFG.yaml] [KEY=VALUE ...] [-q]",
        help="a YAML of TrainConfig fields, then settings over it",
    )
    training.set_defaults(func=cmd_train)

    features = commands.add_parser(
        "features", help="audio files -> features per 5-second window",
        description="Extract audio features as the official extract_mert.py: (1, windows, dim) per file.",
    )
    features.add_argument("sources", nargs="+", metavar="AUDIO", help="audio files or folders (searched recursively)")
    features.add_argument("--out", required=True, help="output folder")
    features.add_argument("--extractor", default="mert", choices=["mert", "spectral"], help="default: mert")
    features.add_argument("--mert", default="m-a-p/MERT-v1-95M", help="MERT hub id or folder (default: m-a-p/MERT-v1-95M)")
    features.add_argument("--workers", type=int, default=1, help="processes decoding audio (default: 1)")
    features.add_argument("--device", default="auto", help="cpu, cuda, ... (default: cuda when available)")
    features.add_argument("--overwrite", action="store_true", help="extract again even where the output exists")
    features.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_shard_arg(features)
    _add_audio_args(features)
    features.set_defaults(func=cmd_features)
    return parser


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("clamp3")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        with logging_redirect_tqdm(loggers=[logging.getLogger("clamp3")]):
            return args.func(args)
    except Clamp3Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
