"""The retrieval commands of the CLI: library, search, score, eval, classify, distance.

Each ``cmd_*`` takes the parsed arguments and returns an exit status; the work itself is done
by :mod:`clamp3.library` and :mod:`clamp3.retrieval`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from clamp3.errors import Clamp3Error
from clamp3.io import atomic_write_text

logger = logging.getLogger("clamp3")


def _where(pairs: list[str] | None) -> dict[str, str]:
    where = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise Clamp3Error(f"--where takes key=value, got '{pair}'")
        where[key] = value
    return where


def _embedder(args: argparse.Namespace):
    from clamp3.cli import _feature_cache, load_model_from_args
    from clamp3.embedding import Embedder

    return Embedder(load_model_from_args(args), batch_size=args.batch_size, mert=args.mert, feature_cache=_feature_cache(args))


def embed_folder(embedder, folder: str | Path, embeddings: bool = False, workers: int = 0) -> tuple[list[str], np.ndarray]:
    """Every file under ``folder`` -> (relative paths, (N, D) global vectors).

    With ``embeddings``, the folder holds .npy global vectors as the official scripts read them.
    """
    from clamp3.formats import SUPPORTED_EXTENSIONS
    from clamp3.io import collect_files

    folder = Path(folder)
    if not folder.is_dir():
        raise Clamp3Error(f"{folder}: not a folder")
    if embeddings:
        files, _ = collect_files([folder], [".npy"])
        return [str(p.relative_to(folder)) for p, _ in files], np.stack([np.load(p).reshape(-1) for p, _ in files])
    files, _ = collect_files([folder], SUPPORTED_EXTENSIONS)
    names, vectors = [], []
    for result in embedder.encode_files([p for p, _ in files], workers=workers, progress=False):
        if result.error is not None:
            logger.error("%s", result.error)
            continue
        relative = result.source.parent.relative_to(folder) / (result.item.name + result.source.suffix)
        names.append(relative.as_posix())
        vectors.append(result.embedding.reshape(-1))
    if not vectors:
        raise Clamp3Error(f"{folder}: no file could be embedded")
    return names, np.stack(vectors)


def _is_library(path: str) -> bool:
    from clamp3.library import DB_NAME

    return (Path(path) / DB_NAME).exists()


def _query_vector(embedder, query: str) -> np.ndarray:
    """(1, D): the file ``query`` names, or else the text itself."""
    path = Path(query)
    if path.is_file():
        results = list(embedder.encode_files([path], progress=False))
        if results[0].error is not None:
            raise results[0].error
        return results[0].embedding.reshape(1, -1)
    return embedder.encode_texts([query])


def cmd_index(args: argparse.Namespace) -> int:
    from clamp3.library import Library

    if args.action == "add":
        from clamp3.cli import shard_from_args
        from clamp3.metadata import read_sidecar

        sidecar = read_sidecar(args.meta) if args.meta else None  # a bad sidecar leaves no empty library behind
        shard = shard_from_args(args)
        library = Library(args.index, create=True)
        report = library.add(
            args.sources, _embedder(args), sidecar=sidecar, workers=args.workers,
            chunk_files=args.chunk_files, progress=not args.quiet, shard=shard,
        )
        for path in report.unknown_sidecar_paths:
            logger.warning("%s: no file with this path was added; its metadata is not used", path)
        print(report.summary(), file=sys.stderr)
        return 1 if report.failures else 0
    library = Library(args.index)
    if args.action == "info":
        print(json.dumps(library.info(), indent=2, ensure_ascii=False))
    elif args.action == "list":
        for item in library.items(args.modality, _where(args.where), args.limit):
            print(json.dumps(item, ensure_ascii=False) if args.json else f"{item['id']}\t{item['modality']}\t{item['title']}\t{item['path']}")
    elif args.action == "prune":
        gone = library.prune()
        print(f"pruned {len(gone)} vanished files", file=sys.stderr)
    return 0


def _default_index(args: argparse.Namespace) -> Path:
    """The demo library, for the embedded model; other weights need --index."""
    from clamp3.models import EMBEDDED

    if args.weights != EMBEDDED:
        raise Clamp3Error(f"no library given: pass --index DIR (the demo library holds vectors of '{EMBEDDED}' only)")
    from clamp3.assets import library_dir

    return library_dir()


def cmd_search(args: argparse.Namespace) -> int:
    from clamp3.library import Library
    from clamp3.retrieval import cosine_matrix

    embedder = _embedder(args)
    if args.reference and not _is_library(args.reference):
        # The official form: rank the files of a folder against one query file.
        names, vectors = embed_folder(embedder, args.reference, workers=args.workers)
        query = _query_vector(embedder, args.query)
        scores = cosine_matrix(query, vectors)[0]
        order = np.argsort(-scores, kind="stable")[: args.top_k]
        hits = [{"rank": r, "score": float(scores[i]), "path": names[i]} for r, i in enumerate(order, 1)]
    else:
        library = Library(args.reference or args.index or _default_index(args))
        from clamp3.library import model_identity

        library.check_model(model_identity(embedder.model))
        query = _query_vector(embedder, args.query)
        hits = [h.to_dict() for h in library.search(query, args.top_k, args.modality, _where(args.where))[0]]
    for hit in hits:
        if args.json:
            print(json.dumps(hit, ensure_ascii=False))
        else:
            print(f"{hit['rank']:>3}  {hit['score']:.4f}  {hit.get('title', '')}{_metadata_summary(hit.get('metadata'))}  {hit['path']}")
    return 0


def _metadata_summary(metadata: dict | None, fields: int = 4) -> str:
    """A few metadata values of a hit, for the plain listing: `` [China, Shanxi, 2/4]``."""
    skip = {"title", "work", "split"}
    values = [str(v) for k, v in (metadata or {}).items() if k not in skip and v not in (None, "")][:fields]
    return f"  [{', '.join(values)}]" if values else ""


def _embed_folders(args: argparse.Namespace):
    """Both folders of ``score`` / ``eval`` -> (query names, queries, reference names, references)."""
    embedder = None if args.embeddings else _embedder(args)
    return (*embed_folder(embedder, args.query_dir, args.embeddings), *embed_folder(embedder, args.reference_dir, args.embeddings))


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
    from clamp3.retrieval import group_similarity, normalize

    query_names, queries, reference_names, references = _embed_folders(args)
    if args.group:
        print(f"group similarity: {group_similarity(queries, references):.4f} ({len(queries)} queries, {len(references)} references)")
        return 0
    pairing = _pair(query_names, reference_names)
    q, r = normalize(queries[pairing.query_index]), normalize(references[pairing.reference_index])
    similarities = (q * r).sum(axis=1)
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
    from clamp3.retrieval import retrieval_metrics, retrieval_ranks

    query_names, queries, reference_names, references = _embed_folders(args)
    pairing = _pair(query_names, reference_names)
    unmatched = len(pairing.unmatched_queries) + len(pairing.unmatched_references)
    if not pairing.query_index:
        raise Clamp3Error("no query file pairs with a reference file (pairs share folder and name before the first dot)")
    # Rank among the matched references only, as the official script does.
    matched = sorted(set(pairing.reference_index))
    position = {j: n for n, j in enumerate(matched)}
    ranks = retrieval_ranks(queries[pairing.query_index], references[matched], [position[j] for j in pairing.reference_index])
    metrics = retrieval_metrics(ranks)
    ordered = sorted(zip(pairing.query_index, pairing.reference_index, ranks), key=lambda t: t[2])
    atomic_write_text(Path(args.out), "".join(
        json.dumps({"query": query_names[i], "reference": reference_names[j], "rank": int(rank)}) + "\n" for i, j, rank in ordered
    ))
    print(json.dumps({**metrics, "references": len(matched), "unmatched": unmatched}, indent=2))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from clamp3.formats import SUPPORTED_EXTENSIONS
    from clamp3.io import collect_files
    from clamp3.retrieval import normalize, zero_shot

    labels = [label.strip() for label in (args.labels or "").split(",") if label.strip()]
    if args.labels_file:
        labels += [line.strip() for line in Path(args.labels_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(labels) < 2:
        raise Clamp3Error("give at least two classes with --labels a,b or --labels-file")
    templates = args.template or ["{}"]
    embedder = _embedder(args)
    prompts = [template.format(label) for label in labels for template in templates]
    prompt_vectors = normalize(embedder.encode_texts(prompts)).reshape(len(labels), len(templates), -1)
    class_vectors = prompt_vectors.mean(axis=1)  # the prompt ensemble of each class
    files, missing = collect_files(args.files, SUPPORTED_EXTENSIONS)
    failures = len(missing)
    for result in embedder.encode_files([p for p, _ in files], workers=args.workers, progress=False):
        if result.error is not None:
            logger.error("%s", result.error)
            failures += 1
            continue
        cosines, probabilities = zero_shot(result.embedding.reshape(1, -1), class_vectors, args.temperature)
        ranking = sorted(zip(labels, probabilities[0], cosines[0]), key=lambda t: -t[1])
        name = f"{result.source.parent / result.item.name}{result.source.suffix}"
        if args.json:
            print(json.dumps({"file": name, "label": ranking[0][0],
                              "probabilities": {label: float(p) for label, p, _ in ranking},
                              "cosines": {label: float(c) for label, _, c in ranking}}, ensure_ascii=False))
        else:
            print(f"{name}\t{ranking[0][0]}\t" + "  ".join(f"{label} {p:.3f}" for label, p, _ in ranking))
    return 1 if failures else 0


def cmd_distance(args: argparse.Namespace) -> int:
    from clamp3.retrieval import frechet_bootstrap, frechet_distance, group_similarity

    embedder = None if args.embeddings else _embedder(args)
    _, reference = embed_folder(embedder, args.reference, args.embeddings)
    _, generated = embed_folder(embedder, args.generated, args.embeddings)
    distance = frechet_distance(reference, generated)
    low, high = frechet_bootstrap(reference, generated, samples=args.bootstrap)
    print(json.dumps({
        "frechet_distance": distance, "ci95": [low, high], "group_similarity": group_similarity(reference, generated),
        "reference": len(reference), "generated": len(generated),
    }, indent=2))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from clamp3.analysis import label_of, load_probe, probe_predict, save_probe, train_probe
    from clamp3.library import Library, model_identity

    if args.action == "train":
        if args.index:
            library = Library(args.index)
            rows = [r for r in library.items() if args.label_field in r["metadata"] or args.label_field == "title"]
            if not rows:
                raise Clamp3Error(f"no item of {args.index} has the metadata field '{args.label_field}'")
            vectors = library.vectors_of([r["id"] for r in rows])
            labels = [r["title"] if args.label_field == "title" else r["metadata"][args.label_field] for r in rows]
            model = {k: v for k, v in library.meta().items() if k in ("model", "fingerprint", "dim")}
        else:
            embedder = None if args.embeddings else _embedder(args)
            names, vectors = embed_folder(embedder, args.source, args.embeddings)
            labels = [label_of(name) for name in names]
            model = model_identity(embedder.model) if embedder else {}
        probe, report = train_probe(vectors, labels, eval_split=args.eval_split, balanced=args.balanced)
        save_probe(probe, args.out, model)
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    probe = load_probe(args.probe)
    embedder = _embedder(args)
    names, vectors = embed_folder(embedder, args.source, args.embeddings) if Path(args.source).is_dir() else (
        [args.source], _query_vector(embedder, args.source))
    for name, probabilities in zip(names, probe_predict(probe, vectors)):
        best = int(np.argmax(probabilities))
        print(json.dumps({"file": name, "label": probe["classes"][best],
                          "probabilities": dict(zip(probe["classes"], map(float, probabilities)))}, ensure_ascii=False))
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    from clamp3.analysis import library_map, write_map
    from clamp3.library import Library

    rows, points = library_map(Library(args.index), args.modality, args.center)
    write_map(points, rows, args.color_by, args.out)
    print(f"map of {len(rows)} items written to {args.out}", file=sys.stderr)
    return 0
