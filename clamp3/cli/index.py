"""``clamp3 index add|list|prune|info|tag|sets|passages|spaces|fill-space|drop-space``: a persistent
library, its named sets of items, its passages and the vector spaces of other models in it."""

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
    add_set_option,
    add_shard_option,
    parse_ids,
    parse_where,
    shard_from_args,
    where_of,
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
    add_set_option(listing)
    listing.add_argument("--limit", type=int, default=None)
    listing.add_argument("--json", action="store_true")
    actions.add_parser("prune", help="drop items whose files are gone")
    actions.add_parser("info", help="counts, model, size, named sets")
    tag = actions.add_parser(
        "tag", help="put items into a named set (the field set:NAME = yes, which --set and --where filter by)",
        description="Put items into a named set of the library, or take them out (--remove): the metadata field "
                    "set:NAME = yes of each member, so 'search --set NAME' (or --where 'set:NAME=yes'), 'index list', "
                    "'map --color-by set:NAME' and the app's filters read it.")
    tag.add_argument("--set", required=True, metavar="NAME", dest="set_name",
                     help="the set's name: 1 to 40 letters, digits, spaces, '.', '_', '-' or \"'\"")
    chosen = tag.add_mutually_exclusive_group()
    chosen.add_argument("--ids", default=None, metavar="ID,ID,...", help="the items' ids ('clamp3 index list' shows them)")
    chosen.add_argument("--where", action="append", metavar="KEY=VALUE", help="the items whose fields are these (repeatable)")
    tag.add_argument("--remove", action="store_true", help="take the items out of the set (every one: without --ids or --where)")
    actions.add_parser("sets", help="the named sets of the library and their sizes")
    actions.add_parser("spaces", help="the models whose vectors the library holds: its own and its spaces")
    fill = actions.add_parser("fill-space", help="embed the library's items with other weights (a space of their own; resumable)")
    fill.add_argument("--chunk-files", type=int, default=8, help="files per transaction (default: 8)")
    add_quiet_option(fill)
    add_model_options(fill)
    passages = actions.add_parser("passages", help="embed windows of the library's items, for search --passages (resumable)")
    passages.add_argument("--bars", type=int, default=8, help="bars a window of a score (default: 8)")
    passages.add_argument("--hop", type=int, default=4, help="bars from one window of a score to the next (default: 4)")
    passages.add_argument("--seconds", type=int, default=20, help="seconds a window of MIDI or audio (default: 20)")
    passages.add_argument("--every", type=int, default=5, help="seconds from one window of MIDI or audio to the next (default: 5)")
    add_quiet_option(passages)
    add_model_options(passages)
    drop = actions.add_parser("drop-space", help="remove the space of a model (by fingerprint or model name)")
    drop.add_argument("space", metavar="SPACE", help="the fingerprint or the model name 'clamp3 index spaces' shows")
    for name, action in actions.choices.items():
        if name in ("add", "prune", "passages", "tag"):
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
        written = build_passages(library, embedder, args.bars, args.hop, progress=not args.quiet, seconds=args.seconds,
                                 every=args.every)
        print(f"{written:,} windows embedded: scores {args.bars} bars every {args.hop}, MIDI and audio {args.seconds} s "
              f"every {args.every}", file=sys.stderr)
        return 0
    from clamp3.assets import default_index

    if args.action == "tag":
        return _tag(args)
    index = args.index or default_index(unpack=False)
    library = open_library(index, read_only=args.action != "prune")  # info, list and sets write nothing
    if args.action == "info":
        print(json.dumps(library.info(), indent=2, ensure_ascii=False))
    elif args.action == "sets":
        for name, count in library.sets().items():
            print(f"{name}\t{count}")
    elif args.action == "list":
        for item in library.items(args.modality, where_of(args, library), args.limit):
            print(json.dumps(item.to_dict(), ensure_ascii=False) if args.json else f"{item.id}\t{item.modality}\t{item.title}\t{item.path}")
    elif args.action == "prune":
        print(f"pruned {len(library.prune())} vanished files", file=sys.stderr)
    return 0


def _tag(args: argparse.Namespace) -> int:
    """``index tag``: items into a named set of the library, or out of it (Library.tag, untag)."""
    from clamp3.assets import is_demo_library
    from clamp3.errors import Clamp3Error
    from clamp3.library import Library, is_milvus_target
    from clamp3.library.spaces import change_metadata

    if is_demo_library(args.index):
        raise Clamp3Error("the demo library that ships in assets/ is never changed: tag the items of a library of your own")
    if is_milvus_target(args.index):
        raise Clamp3Error(f"{args.index}: named sets are kept by the SQLite store only (a library folder); "
                          "filter a Milvus library by a metadata field with --where KEY=VALUE")
    library = Library.open(args.index)
    ids = parse_ids(args.ids) if args.ids is not None else None
    if args.where:
        ids = [item.id for item in library.items(where=parse_where(args.where))]
        if not ids:
            raise Clamp3Error(f"no item has {' and '.join(args.where)}: nothing to put into the set")
    if args.remove:  # (its spaces follow the library's metadata: changed with it)
        taken = change_metadata(library, lambda base: base.untag(args.set_name, ids))
        print(f"took {taken} items out of the set '{args.set_name}'", file=sys.stderr)
    elif ids is None:
        raise Clamp3Error("index tag: give the items, --ids ID,ID,... or --where KEY=VALUE")
    else:
        added = change_metadata(library, lambda base: base.tag(ids, args.set_name))
        print(f"put {added} items into the set '{args.set_name}' ({len(ids) - added} were in it)", file=sys.stderr)
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
