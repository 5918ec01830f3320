"""``clamp3 search``, ``score``, ``eval`` and ``distance``: queries against a library or a folder."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from clamp3.cli.options import (
    MODALITIES,
    ModelOptions,
    add_model_options,
    add_quiet_option,
    add_set_option,
    require_paths,
    where_of,
)
from clamp3.errors import Clamp3Error
from clamp3.io import atomic_write_text
from clamp3.library.rows import passage_label, passage_of

logger = logging.getLogger("clamp3")


def register(commands) -> None:
    search = commands.add_parser(
        "search", help="nearest items to a text or a file",
        description="Search a library (--index DIR) or, as the official clamp3_search.py, a folder of files (REF_DIR).",
    )
    search.add_argument("query", metavar="QUERY", nargs="?", default=None,
                        help="a text in any language, or a file of any modality (may be left out with --like)")
    search.add_argument("reference", nargs="?", metavar="REF_DIR", help="a folder of files to rank (official form)")
    search.add_argument("--index", default=None, help="library: a folder, milvus://HOST:PORT/COLLECTION or a milvus-lite FILE.db "
                        "(default: the demo library, with --weights default)")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--modality", choices=(*MODALITIES, "all"),
                        help="only items of this modality; 'all': every modality, fairly (each ranked on its own, "
                             "merged by calibrated score); default: every modality by raw cosine")
    search.add_argument("--where", action="append", metavar="KEY=VALUE", help="metadata filter (repeatable)")
    add_set_option(search)
    search.add_argument("--json", action="store_true", help="one JSON object per result")
    search.add_argument("--passages", action="store_true",
                        help="rank items by their best passage and say where it lies: bars, or seconds of MIDI and audio "
                             "('clamp3 index passages' first)")
    steer = search.add_argument_group("a steered query (a library): the weighted sum of its parts")
    steer.add_argument("--like", action="append", type=int, default=[], metavar="ID",
                       help="more like this item of the library (its id: 'clamp3 index list', --json); repeatable")
    steer.add_argument("--plus", action="append", default=[], metavar="TEXT|FILE", help="a part added; repeatable")
    steer.add_argument("--minus", action="append", default=[], metavar="TEXT|FILE", help="a part taken away; repeatable")
    steer.add_argument("--part-weights", default=None, metavar="W,W,...",
                       help="one weight a part, in order: QUERY, each --like, each --plus, each --minus (default 1 each; "
                            "a --minus part is taken away with its weight)")
    search.add_argument("--build-space", action="store_true",
                        help="where the library holds another model's vectors, embed its items with these weights first "
                             "(kept in the library's spaces; resumed if stopped)")
    add_quiet_option(search)
    add_model_options(search)
    search.set_defaults(func=cmd_search)

    for name, helptext in (("score", "similarity of query files to the reference files they pair with"),
                           ("eval", "retrieval metrics: MRR, Hit@1/10/100, ranks")):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("query_dir", metavar="QUERY_DIR")
        command.add_argument("reference_dir", metavar="REF_DIR")
        command.add_argument("--embeddings", action="store_true", help="the folders hold .npy global vectors (official layout)")
        add_model_options(command)
        if name == "score":
            command.add_argument("--group", action="store_true", help="cosine of the two mean vectors")
            command.add_argument("--out", default="pairwise_similarities.jsonl")
            command.set_defaults(func=cmd_score)
        else:
            command.add_argument("--out", default="retrieval_ranks.jsonl")
            command.set_defaults(func=cmd_eval)

    distance = commands.add_parser("distance", help="Fréchet distance between two sets of music")
    distance.add_argument("reference", metavar="REF")
    distance.add_argument("generated", metavar="GEN")
    distance.add_argument("--bootstrap", type=int, default=100, help="bootstrap samples for the 95%% interval")
    distance.add_argument("--embeddings", action="store_true", help="the folders hold .npy global vectors")
    add_model_options(distance)
    distance.set_defaults(func=cmd_distance)


def _is_library(path: str) -> bool:
    from clamp3.library import DB_NAME, is_milvus_target

    return is_milvus_target(path) or (Path(path) / DB_NAME).exists()


def _check_query(query: str) -> None:
    """A query named like a file of a supported type is read as that file: refused when it does not
    exist (it would have been searched for as words)."""
    from clamp3.errors import Clamp3Error
    from clamp3.formats import SUPPORTED_EXTENSIONS

    path = Path(query)
    if "\n" not in query and path.suffix.lower() in SUPPORTED_EXTENSIONS and not path.exists():
        raise Clamp3Error(f"{query}: no such file (a query ending in {path.suffix} is read as a file)")


def _part_weights(text: str | None, count: int) -> list[float]:
    if text is None:
        return [1.0] * count
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise Clamp3Error(f"--part-weights '{text}': expected numbers separated by commas") from None
    if len(weights) != count:
        raise Clamp3Error(f"--part-weights has {len(weights)} weights for {count} query parts (QUERY, --like, --plus, --minus)")
    return weights


def _steered(args: argparse.Namespace, embedder, library):
    """(1, D): QUERY, the --like items, the --plus and the --minus parts, weighed (retrieval.steer)."""
    from clamp3.folders import encode_query
    from clamp3.retrieval import steer

    found = {item.id for item in library.items_by_id(args.like)} if args.like else set()
    missing = [str(i) for i in args.like if i not in found]
    if missing:
        raise Clamp3Error(f"{library.location}: no item with the id {', '.join(missing)} ('clamp3 index list' shows the ids)")
    parts = [(encode_query(embedder, args.query), 1.0)] if args.query is not None else []
    parts += [(vector, 1.0) for vector in (library.vectors_of(args.like) if args.like else [])]
    parts += [(encode_query(embedder, text), 1.0) for text in args.plus]
    parts += [(encode_query(embedder, text), -1.0) for text in args.minus]
    weights = _part_weights(args.part_weights, len(parts))
    try:
        return steer([vector for vector, _ in parts], [w * sign for w, (_, sign) in zip(weights, parts)])
    except ValueError as exc:
        raise Clamp3Error(str(exc)) from None


def cmd_search(args: argparse.Namespace) -> int:
    from clamp3.folders import embed_folder, encode_query
    from clamp3.library import is_milvus_target

    steered = bool(args.like or args.plus or args.minus or args.part_weights)
    if args.query is None and not args.like:
        raise Clamp3Error("give a QUERY (a text or a file), or --like ID")
    if args.query is not None:
        _check_query(args.query)
    for part in args.plus + args.minus:
        _check_query(part)
    if steered and args.reference and not _is_library(args.reference):
        raise Clamp3Error("--like, --plus, --minus and --part-weights search a library (--index), not a folder")
    require_paths([path for path in (args.reference, args.index) if path is None or not is_milvus_target(path)])
    options = ModelOptions.from_args(args)
    embedder = options.embedder()
    if args.reference and not _is_library(args.reference):
        # The official form: rank the files of a folder against one query file.
        from clamp3.retrieval import top_k

        names, vectors = embed_folder(embedder, args.reference, workers=args.workers)
        scores, rows = top_k(encode_query(embedder, args.query), vectors, args.top_k)
        hits = [{"rank": r, "score": float(s), "path": names[i]} for r, (s, i) in enumerate(zip(scores[0], rows[0]), 1)]
    else:
        from clamp3.assets import default_index

        index = args.reference or args.index or default_index(options.weights)
        library, answered, searched = _library_for(index, embedder, args.build_space, not args.quiet)
        query = _steered(args, embedder, library) if steered else encode_query(embedder, args.query)
        where = where_of(args, library)
        if args.passages:
            from clamp3.passages import search_passages

            modality = None if args.modality == "all" else args.modality
            found = search_passages(library, query, args.top_k, modality, where)[0]
        elif args.modality == "all":
            found = library.search_mixed(query, args.top_k, where)[0]
        else:
            found = library.search(query, args.top_k, args.modality, where)[0]
        hits = [{**h.to_dict(), **answered} for h in found]
        if searched:
            logger.warning("%s", searched)
    for hit in hits:
        if args.json:
            print(json.dumps(hit, ensure_ascii=False))
        else:
            where_in = f"  ({passage_label(*passage_of(hit['passage']))})" if hit.get("passage") else ""
            print(f"{hit['rank']:>3}  {hit['score']:.4f}  {hit.get('title', '')}{where_in}{_metadata_summary(hit.get('metadata'))}"
                  f"  {hit['path']}")
    return 0


def _library_for(index: str | Path, embedder, build: bool, progress: bool):
    """The library to search with ``embedder``'s model: ``index`` itself when it holds that model's
    vectors, else that model's space in it, built first with ``build`` (and refused, saying how to
    build it, without). Returns it, what every hit says of it (the model, and for a space its
    fingerprint) and, for a space that lacks some of the library's items, a line saying how many it searched."""
    from clamp3.assets import is_demo_library
    from clamp3.library import MilvusLibrary, model_identity, open_library
    from clamp3.library.spaces import coverage, fill, holds_model, open_space

    # the demo library that ships in assets/ stays as released: no vector file, no table of fields written there
    base = open_library(index, read_only=is_demo_library(index) or not build)
    identity = model_identity(embedder.model)
    if holds_model(base, identity):
        if base.read_only and not is_demo_library(index):  # opened to read only for the check: as before, writable
            base.close()
            base = open_library(index)
        base.use_model(embedder.model)
        return base, {"model": identity["model"]}, ""
    if isinstance(base, MilvusLibrary):
        base.use_model(embedder.model)  # its error: another model's vectors, and no spaces on Milvus
    if not build:
        meta = base.meta()
        try:
            space = open_space(base, embedder.model, create=False, read_only=True)
        except Clamp3Error as exc:
            raise Clamp3Error(
                f"{base.directory} holds vectors of model '{meta.get('model')}' ({meta.get('dim')}-d, {meta.get('fingerprint')}); "
                f"the model in use is '{identity['model']}' ({identity['dim']}-d, {identity['fingerprint']}), which has no space "
                f"in it yet: add --build-space to embed its {len(base):,} items with these weights (or 'clamp3 index fill-space')"
            ) from exc
    else:
        space = open_space(base, embedder.model)
        report = fill(base, space, embedder, progress=progress)
        logger.info("space of '%s': %s", identity["model"], report.summary())
    held = coverage(base, space)
    return space, {"model": identity["model"], "space": identity["fingerprint"]}, held.line(identity["model"])


def _metadata_summary(metadata: dict | None, fields: int = 4) -> str:
    """A few metadata values of a hit, for the plain listing: `` [China, Shanxi, 2/4]`` (a named set's
    field, ``set:NAME`` = yes, says nothing without its name: left out)."""
    from clamp3.library.store import SET_PREFIX
    from clamp3.metadata import shown_metadata

    values = [str(v) for k, v in shown_metadata(metadata or {}).items()
              if k != "title" and not k.startswith(SET_PREFIX) and v not in (None, "")][:fields]
    return f"  [{', '.join(values)}]" if values else ""


def _embed_folders(args: argparse.Namespace, first: str, second: str):
    """Two folders -> (names, vectors, names, vectors)."""
    from clamp3.folders import embed_folder

    require_paths([first, second])

    embedder = None if args.embeddings else ModelOptions.from_args(args).embedder()
    return (*embed_folder(embedder, first, args.embeddings, args.workers),
            *embed_folder(embedder, second, args.embeddings, args.workers))


def _pair(query_names: list[str], reference_names: list[str]):
    """Queries matched to references by the official key; the unmatched are logged, not asked about."""
    from clamp3.retrieval import pair_by_key

    pairing = pair_by_key(query_names, reference_names)
    for name in pairing.unmatched_queries:
        logger.warning("unmatched query %s", name)
    for name in pairing.unmatched_references:
        logger.warning("unmatched reference %s", name)
    return pairing


def cmd_score(args: argparse.Namespace) -> int:
    from clamp3.retrieval import group_similarity, pair_similarities

    query_names, queries, reference_names, references = _embed_folders(args, args.query_dir, args.reference_dir)
    if args.group:
        print(f"group similarity: {group_similarity(queries, references):.4f} ({len(queries)} queries, {len(references)} references)")
        return 0
    pairing = _pair(query_names, reference_names)
    similarities = pair_similarities(queries, references, pairing)
    rows = sorted(
        ({"query": query_names[i], "reference": reference_names[j], "similarity": float(s)}
         for i, j, s in zip(pairing.query_index, pairing.reference_index, similarities)),
        key=lambda row: -row["similarity"],
    )
    atomic_write_text(Path(args.out), "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    mean = float(similarities.mean()) if len(similarities) else float("nan")
    print(f"average pairwise similarity: {mean:.4f} over {len(rows)} pairs; "
          f"{len(pairing.unmatched_queries)} queries and {len(pairing.unmatched_references)} references unmatched; "
          f"pairs in {args.out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from clamp3.errors import Clamp3Error
    from clamp3.retrieval import pair_ranks, retrieval_metrics

    query_names, queries, reference_names, references = _embed_folders(args, args.query_dir, args.reference_dir)
    pairing = _pair(query_names, reference_names)
    if not pairing.query_index:
        raise Clamp3Error("no query file pairs with a reference file (pairs share folder and name before the first dot)")
    ranks, pool = pair_ranks(queries, references, pairing)
    ordered = sorted(zip(pairing.query_index, pairing.reference_index, ranks), key=lambda t: t[2])
    atomic_write_text(Path(args.out), "".join(
        json.dumps({"query": query_names[i], "reference": reference_names[j], "rank": int(rank)}) + "\n" for i, j, rank in ordered
    ))
    unmatched = len(pairing.unmatched_queries) + len(pairing.unmatched_references)
    print(json.dumps({**retrieval_metrics(ranks), "references": pool, "unmatched": unmatched}, indent=2))
    return 0


def cmd_distance(args: argparse.Namespace) -> int:
    from clamp3.retrieval import frechet_bootstrap, frechet_distance, group_similarity

    _, reference, _, generated = _embed_folders(args, args.reference, args.generated)
    low, high = frechet_bootstrap(reference, generated, samples=args.bootstrap)
    print(json.dumps({
        "frechet_distance": frechet_distance(reference, generated), "ci95": [low, high],
        "group_similarity": group_similarity(reference, generated), "reference": len(reference), "generated": len(generated),
    }, indent=2))
    return 0
