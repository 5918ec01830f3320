"""Options that several commands share, parsed into typed settings, and the CLI's words for hints."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from clamp3.errors import Clamp3Error

DTYPES = ("float32", "bfloat16", "float16")
MODALITIES = ("text", "symbolic", "audio")

# How the CLI names each setting an engine error's hint can point to (see clamp3.errors.Hint).
WORDS = {
    "weights": "--weights PATH",
    "text_model": "--text-model DIR",
    "mert": "--mert DIR",
    "index": "--index DIR",
    "max_text_tokens": "--max-text-tokens N",
    "out": "--out DIR",
    "shard": "--shard I/N or --shard auto",
    "classes": "--labels a,b,... or --labels-file",
    "templates": "--template",
}


def add_model_options(parser: argparse.ArgumentParser) -> None:
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
    add_cache_options(group)


def add_cache_options(parser) -> None:
    parser.add_argument("--cache-dir", default=None, help="feature cache folder (default: $CLAMP3_CACHE or ~/.cache/clamp3)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")


def add_shard_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard", default=None, metavar="I/N",
        help="do part I of N (from 0) of the files, chosen by a hash of each path: one process of a job "
        "(a shell loop, a job array), or 'auto' under torchrun (RANK/WORLD_SIZE)",
    )


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


@dataclass(frozen=True)
class ModelOptions:
    """The model settings of a command, as typed data."""

    weights: str = "default"
    text_model: str | None = None
    device: str = "auto"
    dtype: str = "float32"
    batch_size: int = 16
    workers: int = 1
    mert: str | None = None
    cache_dir: str | None = None
    no_cache: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ModelOptions:
        return cls(**{name: getattr(args, name) for name in cls.__dataclass_fields__ if hasattr(args, name)})

    def feature_cache(self):
        from clamp3.features import FeatureCache

        return None if self.no_cache else FeatureCache(self.cache_dir)

    def model(self):
        import torch

        from clamp3.memory import keep_loaded
        from clamp3.models import load_model

        model = load_model(self.weights, text_model=self.text_model, device=resolve_device(self.device), dtype=getattr(torch, self.dtype))
        keep_loaded()  # a command keeps its model (and torch) to its end: clamp3.memory says what that saves
        return model

    def embedder(self, **settings):
        from clamp3.embedding import Embedder

        return Embedder(self.model(), batch_size=self.batch_size, mert=self.mert, feature_cache=self.feature_cache(), **settings)


def resolve_device(name: str) -> str:
    """'auto': cuda when available. Under torchrun, 'auto' and 'cuda' mean the GPU of this
    process's LOCAL_RANK (each process of a machine on its own GPU)."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return name


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


def require_paths(paths: Iterable[str | None]) -> None:
    """Refuse a named file or folder that does not exist before the model loads (torch alone takes
    seconds to import), with the first one missing."""
    for path in paths:
        if path is not None and not Path(path).exists():
            raise Clamp3Error(f"{path}: no such file or folder")


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", default=None, metavar="NAME", dest="set_name",
                        help="only the items of this named set of the library ('clamp3 index sets' lists them)")


def parse_ids(text: str) -> list[int]:
    """``--ids 3,5,8`` -> [3, 5, 8]."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise Clamp3Error(f"--ids takes item ids separated by commas, got '{text[:60]}'") from None
    if not ids:
        raise Clamp3Error("--ids is empty: give the items' ids separated by commas")
    return ids


def where_of(args: argparse.Namespace, library) -> dict[str, str]:
    """The metadata filter of ``--where`` and ``--set`` together; a set ``library`` lacks is refused, naming its sets."""
    where = parse_where(args.where)
    if getattr(args, "set_name", None):
        from clamp3.library import SET_PREFIX, SET_VALUE, set_field

        key = set_field(args.set_name)
        sets = library.sets()
        if key[len(SET_PREFIX):] not in sets:
            raise Clamp3Error(f"{library.location} has no set named '{args.set_name}'; its sets: "
                              f"{', '.join(sets) or 'none (clamp3 index tag makes one)'}")
        where[key] = SET_VALUE
    return where


def parse_where(pairs: list[str] | None) -> dict[str, str]:
    """``--where key=value`` (repeatable) -> {key: value}."""
    where = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise Clamp3Error(f"--where takes key=value, got '{pair}'")
        where[key] = value
    return where
