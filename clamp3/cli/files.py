"""``clamp3 convert``, ``clamp3 features`` and ``clamp3 embed``: a file in, a file out, for every input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clamp3.cli.options import (
    WORDS,
    ModelOptions,
    add_cache_options,
    add_model_options,
    add_quiet_option,
    add_shard_option,
    resolve_device,
    shard_from_args,
)
from clamp3.features.extractors import SPECTRAL_VERSIONS


def _batch_command(commands, name: str, verb: str, metavar: str, out_help: str, **described) -> argparse.ArgumentParser:
    """A command that writes outputs per input file: its sources, --out, --overwrite, -q and --shard."""
    command = commands.add_parser(name, **described)
    command.add_argument("sources", nargs="+", metavar=metavar, help="files or folders (searched recursively)")
    command.add_argument("--out", required=True, help=out_help)
    command.add_argument("--overwrite", action="store_true", help=f"{verb} again even where the output exists")
    add_quiet_option(command)
    add_shard_option(command)
    return command


def register(commands) -> None:
    convert = _batch_command(
        commands, "convert", "convert", "SRC", "output folder; mirrors each file's path under the folder given",
        help="scores -> interleaved ABC, MIDI -> MTF",
        description="Convert MusicXML/ABC/Humdrum/MEI/... to interleaved ABC and MIDI to MTF, as the official preprocessing.",
    )
    convert.add_argument("--workers", type=int, default=1, help="conversion processes (default: 1)")
    convert.set_defaults(func=cmd_convert)

    embed = _batch_command(
        commands, "embed", "embed", "SRC", "output folder", help="embed texts, scores, MIDI and audio",
        description="Write one .npy per input: (1, D) global vectors with --global, else (1, T, H) per-step features.",
    )
    embed.add_argument("--global", dest="get_global", action="store_true", help="one vector per input")
    embed.add_argument("--max-text-tokens", type=int, default=4096, help="longest text accepted (default: 4096)")
    add_model_options(embed)
    embed.set_defaults(func=cmd_embed)

    features = _batch_command(
        commands, "features", "extract", "AUDIO", "output folder", help="audio files -> features per 5-second window",
        description="Extract audio features as the official extract_mert.py: (1, windows, dim) per file.",
    )
    features.add_argument("--extractor", default="mert", choices=["mert", "spectral", *SPECTRAL_VERSIONS],
                          help="default: mert; spectral: the weight-free version the embedded default reads (spectral-v1)")
    features.add_argument("--mert", default="m-a-p/MERT-v1-95M", help="MERT hub id or folder (default: m-a-p/MERT-v1-95M)")
    features.add_argument("--workers", type=int, default=1, help="processes decoding audio (default: 1)")
    features.add_argument("--device", default="auto", help="cpu, cuda, ... (default: cuda when available)")
    add_cache_options(features)
    features.set_defaults(func=cmd_features)


def _any_source(args: argparse.Namespace) -> bool:
    """Whether any source given exists. With none, the batch reports each missing one and never
    runs the job, so the model (and torch, seconds to import) is not loaded for nothing."""
    return any(Path(source).exists() for source in args.sources)


def _finish(report) -> int:
    print(report.summary(), file=sys.stderr)
    return report.exit_status


def cmd_convert(args: argparse.Namespace) -> int:
    from clamp3.convert import convert_files

    return _finish(convert_files(args.sources, args.out, args.workers, args.overwrite, not args.quiet, shard_from_args(args), WORDS))


def cmd_features(args: argparse.Namespace) -> int:
    from clamp3.batch import BatchReport, run_batch
    from clamp3.features import load_extractor
    from clamp3.jobs import FeatureJob

    shard = shard_from_args(args)
    extractor = (load_extractor(args.extractor if args.extractor != "mert" else args.mert, device=resolve_device(args.device))
                 if _any_source(args) else None)
    job = FeatureJob(args.out, extractor, ModelOptions.from_args(args).feature_cache(), args.workers)
    return _finish(run_batch(job, args.sources, BatchReport("extracted", words=WORDS), shard, args.overwrite, not args.quiet))


def cmd_embed(args: argparse.Namespace) -> int:
    from clamp3.batch import BatchReport, run_batch
    from clamp3.jobs import EmbedJob

    shard = shard_from_args(args)
    embedder = ModelOptions.from_args(args).embedder(max_text_tokens=args.max_text_tokens) if _any_source(args) else None
    job = EmbedJob(args.out, embedder, pooled=args.get_global, workers=args.workers)
    return _finish(run_batch(job, args.sources, BatchReport("embedded", words=WORDS), shard, args.overwrite, not args.quiet))
