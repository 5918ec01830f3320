"""``clamp3 index add|list|prune|info|passages|spaces|fill-space|drop-space``: a persistent library,
its passages and the vector spaces of other models in it."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from clamp3.cli.options import (
    MODALITIES,
    WORDS,
    ModelOptions,
    add_model_options,
    add_quiet_option,
    add_shard_option,
    parse_where,
    shard_from_args,
)

logger = logging.getLogger("clamp3")
TARGETS = "folder, milvus://HOST:PORT/COLLECTION or milvus-lite FILE.db"


def register(commands) -> None:
    index = commands.add_parser("index", help="a persistent library: add, list, prune, info")
    actions = index.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="embed new and changed files into the library")
    add.add_argument("sources", nargs="+", metavar="SRC", help="files or folders (searched recursively)")
    add.add_argument("--meta", default=None, help="CSV or JSONL with a 'path' column: metadata joined by path")
    add.add_argument("--chunk-files", type=int, default=32, help="files per transaction (default: 32)")
    add_quiet_option(add)
    add_shard_option(add)
    add_model_options(add)
    listing = actions.add_parser("list", help="list items")
    listing.add_argument("--modality", choices=MODALITIES)
    listing.add_argument("--where", action="append", metavar="KEY=VALUE", help="metadata filter (repeatable)")
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true")
    actions.add_parser("prune", help="drop items whose files are gone")
    actions.add_parser("info", help="counts, model, size")
    actions.add_parser("spaces", help="the models whose vectors the library holds: its own and its spaces")
    fill = actions.add_parser("fill-space", help="embed the library's items with other weights (a space of their own; resumable)")
    fill.add_argument("--chunk-files", type=int, default=8, help="files per transaction (default: 8)")
    add_quiet_option(fill)
    add_model_options(fill)
    passages = actions.add_parser("passages", help="embed windows of the library's scores, for search --passages (resumable)")
    passages.add_argument("--bars", type=int, default=8, help="bars a window (default: 8)")
    passages.add_argument("--hop", type=int, default=4, help="bars from one window to the next (default: 4)")
    add_quiet_option(passages)
    add_model_options(passages)
    drop = actions.add_parser("drop-space", help="remove the space of a model (by fingerprint or model name)")
    drop.add_argument("space", metavar="SPACE", help="the fingerprint or the model name 'clamp3 index spaces' shows")
    for name, action in actions.choices.items():
        if name in ("add", "prune", "passages"):
            action.add_argument("--index", required=True, help=f"library {TARGETS}")
        else:
            action.add_argument("--index", default=None, help=f"library {TARGETS} (default: the demo library)")
    index.set_defaults(func=cmd_index)


def cmd_index(args: argparse.Namespace) -> int:
    from clamp3.library import Library, LibraryError, is_milvus_target, open_library

    if args.action in ("spaces", "fill-space", "drop-space", "passages") and args.index and is_milvus_target(args.index):
        raise LibraryError(f"{args.index}: 'index {args.action}' works on a library folder; a Milvus library keeps no spaces or passages")

    if args.action == "add":
        from clamp3.library.store import AddReport
        from clamp3.metadata import read_sidecar

        if not any(Path(source).exists() for source in args.sources):  # reported before the model loads, no library made
            report = AddReport(words=WORDS)
            for source in args.sources:
                report.fail(f"{source}: no such file or folder")
            print(report.summary(), file=sys.stderr)
            return report.exit_status
        sidecar = read_sidecar(args.meta) if args.meta else None  # a bad sidecar leaves no empty library behind
        shard = shard_from_args(args)
        embedder = ModelOptions.from_args(args).embedder()
        library = open_library(args.index, model=embedder.model, create=True)
        report = library.add(args.sources, embedder, sidecar=sidecar, workers=args.workers,
                             chunk_files=args.chunk_files, progress=not args.quiet, shard=shard, words=WORDS)
        for path in report.unknown_sidecar_paths:
            logger.warning("%s: no file with this path was added; its metadata is not used", path)
        print(report.summary(), file=sys.stderr)
        if isinstance(library, Library) and shard is None and len(library) > library.ann_threshold:  # (each shard's process would build it again)
            print(f"building the search index of {len(library):,} items", file=sys.stderr)
            library.ann_index()
        return report.exit_status
    if args.action in ("spaces", "fill-space", "drop-space"):
        return _spaces(args)
    if args.action == "passages":
        from clamp3.passages import build_passages

        embedder = ModelOptions.from_args(args).embedder()
        library = Library.open(args.index, model=embedder.model)
        written = build_passages(library, embedder, args.bars, args.hop, progress=not args.quiet)
        print(f"{written:,} windows of {args.bars} bars (every {args.hop}) embedded", file=sys.stderr)
        return 0
    from clamp3.assets import default_index

    index = args.index or default_index(unpack=False)
    library = open_library(index, read_only=args.action != "prune")  # info and list write nothing
    if args.action == "info":
        print(json.dumps(library.info(), indent=2, ensure_ascii=False))
    elif args.action == "list":
        for item in library.items(args.modality, parse_where(args.where), args.limit):
            print(json.dumps(item.to_dict(), ensure_ascii=False) if args.json else f"{item.id}\t{item.modality}\t{item.title}\t{item.path}")
    elif args.action == "prune":
        print(f"pruned {len(library.prune())} vanished files", file=sys.stderr)
    return 0


def _spaces(args: argparse.Namespace) -> int:
    """``index spaces``, ``fill-space`` and ``drop-space``: the models of a library (clamp3.library.spaces)."""
    from clamp3.assets import default_index, is_demo_library
    from clamp3.library import Library
    from clamp3.library.spaces import drop_space, fill, holds_model, list_spaces, open_space

    index = args.index or default_index()
    base = Library.open(index, read_only=args.action == "spaces" or is_demo_library(index))
    if args.action == "spaces":
        for space in list_spaces(base):
            state = "its own" if space["own"] else ("complete" if space["complete"] else "incomplete")
            print(f"{space['fingerprint']}\t{space['model']}\t{space['dim']}-d\t{space['items']:,} of {space['of']:,} items\t"
                  f"{state}\t{space['folder']}")
        return 0
    if args.action == "drop-space":
        print(f"removed {drop_space(base, args.space)}", file=sys.stderr)
        return 0
    from clamp3.library import model_identity

    embedder = ModelOptions.from_args(args).embedder()
    if holds_model(base, model_identity(embedder.model)):
        print(f"{base.directory} holds this model's own vectors: nothing to fill (index add embeds new files)", file=sys.stderr)
        return 0
    space = open_space(base, embedder.model)
    report = fill(base, space, embedder, progress=not args.quiet, chunk_files=args.chunk_files)
    print(f"space {space.directory}: {report.summary()}", file=sys.stderr)
    return report.exit_status
