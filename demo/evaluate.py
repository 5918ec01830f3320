"""Held-out evaluation of a model on the demo corpus: zero-shot classification through text
prompts only, beside the majority class and a linear probe on the same vectors; text -> music
retrieval per language with generated descriptions as the queries (every fact; and the portrait of
the music, without what its ABC spells out), in every language that ``demo.texts`` writes (the
languages of ``demo.languages``, training and held-out); how often an
item's nearest neighbours share its region, key and metre (Essen songs), tune type (fiddle tunes)
or composer, in the embedding and on the 2-d map; and, for rendered audio, text -> audio by
instrument and tempo in ten languages.

    python -m demo.evaluate --weights default --data data/demo --out assets/clamp3-small-multilingual/metrics.json
    python -m demo.evaluate --weights default --library assets/demo-library --kinds abc

The pool of every task is the held-out split (works that training never saw). Scores are read as
interleaved ABC; the same tasks on the MIDI of the works (MTF) and on the rendered audio are
reported beside them. With ``--library`` an already-built library (opened read-only) is evaluated
instead of a built corpus: its vectors, its metadata (the split among them, the texts made from
them by ``demo.texts``) and its map (``map.csv``) where it ships one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

import demo.texts
from clamp3 import Embedder
from clamp3.models import load_model
from clamp3.retrieval import normalize, retrieval_metrics, retrieval_ranks, top_k
from clamp3.zero_shot import DEFAULT_TEMPERATURE, ZeroShotClassifier
from demo.languages import HELDOUT_LANGUAGES, LANGUAGES, TRAIN_LANGUAGES
from demo.rendering_queries import QUERY_LANGUAGES, TEMPI, instrument_queries, tempo_queries

TASKS = {"tune_type": "tune type", "region": "region (Essen)", "composer": "composer", "era": "era (composers, trecento)",
         "function": "song function (Essen)"}
COMPOSER_CLASSES = {"Bach", "Palestrina", "Monteverdi", "Beethoven", "Mozart", "Haydn"}
KINDS = {"abc": "score (ABC)", "mtf": "MIDI (MTF)", "audio": "audio"}
NEIGHBOURS = 10
# the items whose neighbours are compared -> (title, the fields compared)
NEIGHBOUR_GROUPS = {
    "folk": ("Essen folk songs", ("region", "key", "metre")),
    "fiddle": ("fiddle tunes", ("tune_type",)),
    "composer": ("composer works", ("composer",)),
}
INT_FIELDS = ("voices", "bars")  # a library keeps every field as text; the descriptions count these


def task_label(work: dict, task: str) -> str | None:
    if task in ("tune_type", "region"):
        return work.get(task)
    if task == "era":
        return work.get("era") if work.get("era") in demo.texts.ERAS["en"] else None
    if task == "function":
        return work.get("function") if work.get("function") in demo.texts.FUNCTIONS["en"] else None
    return work.get("composer") if work.get("composer") in COMPOSER_CLASSES else None


def neighbour_label(work: dict, field: str) -> str | None:
    """The value compared between neighbours: keys by tonic and mode (``G`` and ``Gmaj`` agree)."""
    value = work.get(field)
    if field == "key" and value:
        parsed = demo.texts.parse_key(value)
        return "".join(parsed) if parsed else value
    return value or None


def text_languages(languages: list[str]) -> tuple[list[str], list[str]]:
    """(the languages ``demo.texts`` writes descriptions and prompts in, those it does not)."""
    known = set(demo.texts.LANGUAGES)
    return [lang for lang in languages if lang in known], [lang for lang in languages if lang not in known]


# --- the works and their vectors: a built corpus, or a built library ---------------------------
def read_works(data: Path) -> list[dict]:
    """The works of a corpus built by ``demo.build`` (``works.jsonl``), in its order."""
    return [json.loads(line) for line in (data / "works.jsonl").read_text(encoding="utf-8").splitlines()]


def embed_works(embedder: Embedder, data: Path, works: list[dict], kind: str) -> np.ndarray:
    """(works, D) unit vectors of one file kind of each work."""
    paths = [data / w["files"][kind] for w in works]
    vectors = {}
    for result in embedder.encode_files(paths, progress=False):
        if result.error is not None:
            raise RuntimeError(str(result.error))
        vectors[result.source] = result.embedding.reshape(-1)
    return normalize(np.stack([vectors[p] for p in paths]))


class RememberedTexts:
    """``encode_texts`` of an embedder, each text encoded once: the queries of every language are
    the same strings for each file kind of the same works."""

    def __init__(self, embedder: Embedder):
        self.embedder, self.vectors = embedder, {}

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        todo = [text for text in dict.fromkeys(texts) if text not in self.vectors]
        if todo:
            self.vectors.update(zip(todo, self.embedder.encode_texts(todo)))
        return np.stack([self.vectors[text] for text in texts])


def item_kind(item) -> str:
    """The file kind of a library item: audio features, MTF or (every other score) ABC."""
    if item.modality == "audio":
        return "audio"
    return "mtf" if item.path.endswith(".mtf") else "abc"


def library_work(item, music: dict[str, dict] | None = None) -> dict:
    """A work as ``demo.texts`` describes it, from a library item's title and metadata, with what
    its notes do (``demo.musicwords``, by work id in ``music``: a corpus's; a library keeps no
    such features, so without them a portrait names the class, function, era and voices only)."""
    work = {**item.metadata, "title": item.title, "id": item.metadata.get("work", item.name), "item_id": item.id}
    if music and work["id"] in music:
        work["music"] = music[work["id"]]
    for name in INT_FIELDS:
        if str(work.get(name, "")).isdigit():
            work[name] = int(work[name])
    if "instrument" in work or "tempo" in work:
        work["rendering"] = {k: work[k] for k in ("instrument", "tempo") if k in work}
    return work


def labelled(work: dict) -> bool:
    return any(task_label(work, t) for t in TASKS) or work.get("kind") in NEIGHBOUR_GROUPS


# --- the measures: pure functions of arrays ----------------------------------------------------
def zero_shot_classifier(embedder: Embedder, prompts: dict[str, list[str]], temperature: float = DEFAULT_TEMPERATURE) -> ZeroShotClassifier:
    """Classes and their prompts -> the zero-shot classifier of ``clamp3 classify`` and the app
    (the temperature changes the probabilities, not the accuracies reported here)."""
    return ZeroShotClassifier.from_prompts(embedder.encode_texts, prompts, temperature)


def accuracies(predicted: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Accuracy and balanced accuracy (the mean of the per-class recalls)."""
    labels = np.asarray(labels)
    recalls = [float(np.mean(predicted[labels == c] == c)) for c in sorted(set(labels))]
    return {"accuracy": float(np.mean(predicted == labels)), "balanced": float(np.mean(recalls))}


def probe_predict(train_x: np.ndarray, train_y: list[str], test_x: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=3000, C=10.0).fit(train_x, train_y).predict(test_x)


def nearest(points: np.ndarray, k: int, metric: str = "cosine", block: int = 1024) -> np.ndarray:
    """(N, D) points -> (N, min(k, N - 1)) rows of each point's nearest others, nearest first:
    by cosine (embedding vectors) or by Euclidean distance (map coordinates)."""
    n = len(points)
    k = min(k, n - 1)
    x = normalize(points) if metric == "cosine" else np.asarray(points, dtype=np.float64)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        if metric == "cosine":
            scores = x[rows] @ x.T  # (block, N)
        else:  # minus the squared distance, less the row's own squared norm (the same for the whole row)
            scores = 2 * x[rows] @ x.T - (x**2).sum(axis=1)
        scores[np.arange(len(rows)), rows] = -np.inf  # an item is not its own neighbour
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k else np.zeros((len(rows), 0), np.int64)
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[rows] = np.take_along_axis(part, order, axis=1)
    return out


def neighbour_agreement(points: np.ndarray, labels: dict[str, list[str | None]], k: int = NEIGHBOURS, metric: str = "cosine") -> dict[str, dict]:
    """Per field: the mean share of an item's ``k`` nearest neighbours (among all ``points``) that
    have its value, over the items that have one; and the chance level, the share that ``k``
    neighbours drawn at random would have (the item's value's count less itself, over N - 1)."""
    n = len(points)
    neighbours = nearest(points, k, metric) if n > 1 else np.zeros((n, 0), np.int64)
    out = {}
    for field, values in labels.items():
        codes = {v: i for i, v in enumerate(sorted({v for v in values if v is not None}))}
        coded = np.array([codes.get(v, -1) for v in values])  # -1: no value, agrees with nothing
        has = coded >= 0
        if has.sum() == 0 or neighbours.shape[1] == 0:
            continue
        same = (coded[neighbours] == coded[:, None]).mean(axis=1)  # (N,)
        counts = np.bincount(coded[has], minlength=len(codes))
        chance = (counts[coded[has]] - 1) / (n - 1)
        out[field] = {"agreement": float(same[has].mean()), "chance": float(chance.mean()), "n": int(has.sum()),
                      "values": len(codes)}
    return out


def precision_at_k(queries: np.ndarray, vectors: np.ndarray, relevant: np.ndarray, k: int = 10) -> np.ndarray:
    """Queries (Q, D), pool (N, D), which pool items are relevant (N,) -> the share of each query's
    ``k`` best items (of all N when fewer) that are relevant (Q,)."""
    _, rows = top_k(queries, vectors, k)  # (Q, min(k, N))
    return np.asarray(relevant, dtype=bool)[rows].mean(axis=1)


# --- the tasks ---------------------------------------------------------------------------------
def classification(embedder, vectors, labels, train_x, train_y, task, languages) -> dict:
    zero_shot, balanced = {}, {}
    for lang in languages:
        predicted = zero_shot_classifier(embedder, demo.texts.task_prompts(task, lang)).predict(vectors).labels
        scores = accuracies(np.array(predicted), labels)
        zero_shot[lang], balanced[lang] = scores["accuracy"], scores["balanced"]
    majority = Counter(train_y).most_common(1)[0][0]
    return {
        "n": len(labels),
        "classes": dict(Counter(labels).most_common()),
        "zero_shot": zero_shot,
        "zero_shot_balanced": balanced,
        "majority": accuracies(np.array([majority] * len(labels)), labels),
        "linear_probe": accuracies(probe_predict(train_x, train_y, vectors), labels),
    }


# the held-out text -> music queries: section key -> (what the table calls it, the query of a work in a language)
QUERIES = {
    # every fact (all but the title), key, metre and length in bars included: what the first edition was trained on
    "retrieval": ("description with key, metre and bars", lambda w, lang: demo.texts.describe(w, lang, title=False)),
    # the class and what the notes do, none of what the ABC spells out: what the second edition is trained on
    "retrieval_portrait": ("portrait of the music", demo.texts.portrait),
}


def retrieval(embedder, vectors, works, lang, query: str | Callable[[dict, str], str | None] = "retrieval") -> dict:
    """Each held-out work's query in ``lang`` as the query for that work among all of them: the
    query of ``QUERIES[query]`` (by default its description of everything but the title), or
    ``query(work, lang)`` itself when it is a function."""
    make = QUERIES[query][1] if isinstance(query, str) else query
    texts = [make(w, lang) for w in works]
    rows = [i for i, text in enumerate(texts) if text]
    if not rows:  # no work of the pool can be described in this language
        return {"pool": len(works), "queries": 0}
    queries = normalize(embedder.encode_texts([texts[i] for i in rows]))
    return {"pool": len(works), **retrieval_metrics(retrieval_ranks(queries, vectors, np.array(rows)))}


def retrieval_summary(results: dict[str, dict], heldout_languages: list[str] = HELDOUT_LANGUAGES) -> dict:
    """Hit@10 of each language as a ratio of English's, and the lowest ratio over all languages
    and over the held-out ones (the target: every language at 0.8 of English or more)."""
    english = results.get("en", {}).get("hit@10")
    if not english:
        return {}
    ratios = {lang: r["hit@10"] / english for lang, r in results.items() if "hit@10" in r}
    summary: dict = {"hit@10_ratio": ratios}
    for name, langs in (("all", list(ratios)), ("heldout", [lang for lang in ratios if lang in heldout_languages])):
        if langs:
            worst = min(langs, key=ratios.get)
            summary[f"min_ratio_{name}"] = {"language": worst, "ratio": ratios[worst], "languages": len(langs)}
    return summary


def neighbours_section(works: list[dict], vectors: np.ndarray, map_points: dict[int, tuple[float, float]] | None) -> dict:
    """Neighbour agreement of each group of ``NEIGHBOUR_GROUPS`` in the embedding and, for the
    items that have map coordinates, on the map."""
    out = {}
    for kind, (title, fields) in NEIGHBOUR_GROUPS.items():
        rows = [i for i, w in enumerate(works) if w.get("kind") == kind and any(neighbour_label(w, f) for f in fields)]
        if len(rows) < 2:
            continue
        labels = {f: [neighbour_label(works[i], f) for i in rows] for f in fields}
        group = {"title": title, "pool": len(rows), "k": NEIGHBOURS, "embedding": neighbour_agreement(vectors[rows], labels)}
        placed = [j for j, i in enumerate(rows) if map_points and works[i].get("item_id") in map_points]
        if len(placed) > 1:
            points = np.array([map_points[works[rows[j]]["item_id"]] for j in placed])
            group["map"] = neighbour_agreement(points, {f: [v[j] for j in placed] for f, v in labels.items()}, metric="euclidean")
            group["map_pool"] = len(placed)
        out[kind] = group
    return out


RENDERING_TARGET = 0.8  # issue 21: each instrument and tempo query at precision@10 >= 0.8


def rendering_classes(rendered: list[dict]) -> list[tuple[str, str, dict[str, str]]]:
    """The classes of renderings a query asks for: (field, value, language -> query) for each
    instrument of ``rendered`` that has queries, then each tempo (slow, fast)."""
    return [("instrument", name, instrument_queries(name)) for name in sorted({r.get("instrument") for r in rendered} - {None})
            if instrument_queries(name)] + [("tempo", tempo, tempo_queries(tempo)) for tempo in TEMPI]


def rendering_section(embedder, vectors: np.ndarray, works: list[dict], k: int = 10) -> dict:
    """Text -> audio by how the audio was rendered: per instrument of the pool and per tempo (slow,
    fast), a query in each of ``QUERY_LANGUAGES`` and its precision at ``k`` over the pool."""
    rendered = [w.get("rendering") or {} for w in works]
    if not any(rendered):
        return {"skipped": "no held-out audio work carries a rendering (instrument, tempo)"}
    groups: dict[str, dict] = {"instrument": {}, "tempo": {}}
    unlisted = sorted({r["instrument"] for r in rendered if r.get("instrument") and instrument_queries(r["instrument"]) is None})
    for field, value, queries in rendering_classes(rendered):
        relevant = np.array([r.get(field) == value for r in rendered])
        if not relevant.any():
            continue
        langs = list(queries)
        precision = precision_at_k(normalize(embedder.encode_texts([queries[lang] for lang in langs])), vectors, relevant, k)
        groups[field][value] = {"n": int(relevant.sum()), "chance": float(relevant.mean()),
                                f"precision@{k}": dict(zip(langs, map(float, precision)))}
    return {"pool": len(works), "k": k, "languages": QUERY_LANGUAGES, "unlisted_instruments": unlisted, **groups}


def evaluate_kind(embedder, kind: str, heldout: list[dict], heldout_x: np.ndarray, train: list[dict], train_x: np.ndarray,
                  languages: list[str], map_points: dict[int, tuple[float, float]] | None = None,
                  neighbour_pool: str = "heldout", trained_languages: list[str] | None = None) -> dict:
    """Every task on one file kind: held-out works and their unit vectors (N, D), labelled training
    works and theirs (for the probe, and for neighbours with ``neighbour_pool`` 'all'). The
    languages of ``languages`` not in ``trained_languages`` (by default ``HELDOUT_LANGUAGES``) are
    the held-out ones of the summary."""
    section: dict = {"title": KINDS[kind], "pool": len(heldout), "classification": {}, "retrieval": {}}
    for task, title in TASKS.items():
        test_rows = [i for i, w in enumerate(heldout) if task_label(w, task)]
        train_rows = [i for i, w in enumerate(train) if task_label(w, task)]
        if len(test_rows) < 5 or len({task_label(train[i], task) for i in train_rows}) < 2:
            continue
        section["classification"][task] = {"title": title, **classification(
            embedder, heldout_x[test_rows], [task_label(heldout[i], task) for i in test_rows],
            train_x[train_rows], [task_label(train[i], task) for i in train_rows], task, languages,
        )}
    untrained = HELDOUT_LANGUAGES if trained_languages is None else [lang for lang in languages if lang not in trained_languages]
    for query in QUERIES:
        section[query] = {lang: retrieval(embedder, heldout_x, heldout, lang, query) for lang in languages}
        section[f"{query}_summary"] = retrieval_summary(section[query], untrained)
    if neighbour_pool == "all":
        section["neighbours"] = neighbours_section(heldout + train, np.concatenate([heldout_x, train_x]), map_points)
    else:
        section["neighbours"] = neighbours_section(heldout, heldout_x, map_points)
    section["neighbours_pool"] = neighbour_pool
    if kind == "audio":
        section["rendering"] = rendering_section(embedder, heldout_x, heldout)
    return section


def evaluate(weights: str, data: Path | None, languages: list[str] = LANGUAGES, kinds: tuple[str, ...] = ("abc", "mtf", "audio"),
             library: Path | None = None, neighbour_pool: str = "heldout", trained_languages: list[str] | None = None) -> dict:
    """The report of every task on each of ``kinds``, from a built corpus (``data``) or, with
    ``library``, from a built library of ``weights``' vectors (opened read-only; the kinds it does
    not hold, such as MTF, from ``data`` where that corpus is built). The languages
    the model was trained in are ``trained_languages``, else those of the corpus's training texts
    (with ``library``: ``TRAIN_LANGUAGES``)."""
    model = load_model(weights)
    embedder = Embedder(model, batch_size=32)
    texts = RememberedTexts(embedder)
    languages, unwritten = text_languages(languages)
    report: dict = {"weights": weights, "languages": languages, "languages_without_texts": unwritten, "kinds": {}}
    corpus = None
    if library is not None and data is not None and (data / "works.jsonl").exists():
        corpus = read_works(data)
    if library is not None:
        from clamp3.library import Library, read_shipped_map

        store = Library.open(library, model=model, read_only=True)  # refuses another model's vectors
        music = {w["id"]: w["music"] for w in corpus or () if w.get("music")}
        try:
            items = [item for item in store.items() if item_kind(item) in kinds]
            works = [library_work(item, music) for item in items]
            vectors = store.vectors_of([item.id for item in items]).astype(np.float32)  # (items, D), copied off the file
        finally:
            store.close()
        map_points = read_shipped_map(library)
        heldout_ids = {w["id"] for w in works if w.get("split") == "heldout"}
        report |= {"library": str(library), "heldout_works": len(heldout_ids),
                   "trained_languages": trained_languages or TRAIN_LANGUAGES, "map": map_points is not None,
                   "portrait_music": len(heldout_ids & music.keys()) / max(len(heldout_ids), 1)}
    else:
        works = read_works(data)
        map_points = None
        # the languages the training texts were written in: those of the training works' texts
        trained = {lang for w in works if w["split"] != "heldout" for lang in w.get("texts", {})}
        report |= {"heldout_works": sum(w["split"] == "heldout" for w in works),
                   "trained_languages": trained_languages or [lang for lang in LANGUAGES if lang in trained]}
    for kind in kinds:
        from_library = library is not None and (corpus is None or any(item_kind(item) == kind for item in items))
        if from_library:
            rows = [i for i, w in enumerate(works) if item_kind(items[i]) == kind]
            heldout_rows = [i for i in rows if works[i].get("split") == "heldout"]
            train_rows = [i for i in rows if works[i].get("split") != "heldout" and labelled(works[i])]
            heldout, train = [works[i] for i in heldout_rows], [works[i] for i in train_rows]
            heldout_x, train_x = vectors[heldout_rows], vectors[train_rows]
        else:
            pool = works if library is None else corpus
            heldout = [w for w in pool if w["split"] == "heldout" and kind in w["files"]]
            train = [w for w in pool if w["split"] != "heldout" and kind in w["files"] and labelled(w)]
            if heldout:
                heldout_x, train_x = embed_works(embedder, data, heldout, kind), embed_works(embedder, data, train, kind)
        if not heldout:
            continue
        report["kinds"][kind] = evaluate_kind(texts, kind, heldout, heldout_x, train, train_x, languages, map_points if from_library else None,
                                              neighbour_pool, report["trained_languages"])
    return report


# --- the report as Markdown tables -------------------------------------------------------------
def _f(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def classification_table(section: dict) -> list[str]:
    results = list(section["classification"].values())
    n_languages = len(results[0]["zero_shot"]) if results else 0
    lines = [f"| task | n | zero-shot (en) | zero-shot ({n_languages} languages: min / mean) | balanced (en) | majority | linear probe |",
             "|---|---|---|---|---|---|---|"]
    for result in results:
        shots = list(result["zero_shot"].values())
        lines.append(
            f"| {result['title']} | {result['n']} | {_f(result['zero_shot'].get('en'))} "
            f"| {min(shots):.3f} / {np.mean(shots):.3f} | {_f(result['zero_shot_balanced'].get('en'))} "
            f"| {result['majority']['accuracy']:.3f} | {result['linear_probe']['accuracy']:.3f} |"
        )
    return lines


def retrieval_table(section: dict, trained: list[str] | None, query: str = "retrieval") -> list[str]:
    """Text -> music by ``QUERIES[query]``, per query language; empty for a report without it."""
    if query not in section:  # (a report made before that query was evaluated)
        return []
    results = section[query]
    summary = section.get(f"{query}_summary") or retrieval_summary(results)  # (a report made before it had one)
    ratios = summary.get("hit@10_ratio", {})
    lines = [f"Text -> music, each held-out work found by its {QUERIES[query][0]} among all of them:", "",
             "| query language | in training | Hit@1 | Hit@10 | MRR | Hit@10 / English |", "|---|---|---|---|---|---|"]
    for lang, result in results.items():
        in_training = "?" if trained is None else "yes" if lang in trained else "no"
        if "hit@10" not in result:
            lines.append(f"| {lang} | {in_training} | no work described in it | | | |")
            continue
        lines.append(f"| {lang} | {in_training} | {result['hit@1']:.3f} | {result['hit@10']:.3f} | {result['mrr']:.3f} "
                     f"| {_f(ratios.get(lang))} |")  # three digits: 0.797 does not read as the 0.80 target
    parts = [f"{summary[key]['ratio']:.3f} ({summary[key]['language']}) over {summary[key]['languages']} {what}"
             for key, what in (("min_ratio_all", "languages"), ("min_ratio_heldout", "held-out languages")) if key in summary]
    if "min_ratio_all" in summary and "min_ratio_heldout" not in summary:
        parts.append("no held-out language evaluated")
    if parts:
        lines += ["", "Lowest Hit@10 as a ratio of English's: " + "; ".join(parts) + " (target: 0.80 or more)."]
    return lines


def neighbours_table(section: dict) -> list[str]:
    groups = section.get("neighbours") or {}
    if not groups:
        return []
    pool = "held-out" if section.get("neighbours_pool", "heldout") == "heldout" else "all"
    lines = [f"Neighbour agreement ({pool} items): the share of each item's {NEIGHBOURS} nearest neighbours with its value, "
             "in the embedding (cosine) and on the map (Euclidean), beside chance (neighbours drawn at random).", "",
             "| items | n | field | embedding | map | chance |", "|---|---|---|---|---|---|"]
    for group in groups.values():
        for field, result in group["embedding"].items():
            on_map = group.get("map", {}).get(field, {}).get("agreement")
            lines.append(f"| {group['title']} | {result['n']} | {field} | {result['agreement']:.3f} | {_f(on_map)} | {result['chance']:.3f} |")
    return lines


def rendering_table(section: dict, trained: list[str] | None = None) -> list[str]:
    rendering = section.get("rendering")
    if not rendering:
        return []
    if "skipped" in rendering:
        return [f"Text -> audio by instrument and tempo: skipped ({rendering['skipped']})."]
    k, langs = rendering["k"], rendering["languages"]
    groups = {"trained": [lang for lang in langs if lang in (trained or TRAIN_LANGUAGES)]}
    groups["never-trained"] = [lang for lang in langs if lang not in groups["trained"]]
    lines = [f"Text -> audio by instrument and tempo: precision@{k} over the {rendering['pool']} held-out audio works, "
             f"one query per language (not in training: {', '.join(groups['never-trained'])}).", "",
             f"| query | n | chance | mean | {' | '.join(langs)} |", "|---" * (4 + len(langs)) + "|"]
    for field in ("instrument", "tempo"):
        for value, result in rendering.get(field, {}).items():
            shown = result[f"precision@{k}"]
            lines.append(f"| {value} | {result['n']} | {result['chance']:.2f} | {np.mean(list(shown.values())):.2f} | "
                         + " | ".join(_f(shown.get(lang), 2) for lang in langs) + " |")
    counts = []
    for name, group in groups.items():
        cells = [result[f"precision@{k}"][lang] for field in ("instrument", "tempo") for result in rendering.get(field, {}).values()
                 for lang in group if lang in result[f"precision@{k}"]]
        if cells:
            counts.append(f"{sum(p >= RENDERING_TARGET for p in cells)} of {len(cells)} in the {len(group)} {name} languages")
    if counts:
        lines += ["", f"Cells at precision@{k} >= {RENDERING_TARGET}: {'; '.join(counts)}."]
    if rendering.get("unlisted_instruments"):
        lines.append(f"\nNo query phrases for: {', '.join(rendering['unlisted_instruments'])} (add them to demo/rendering_queries.py).")
    return lines


def table(report: dict) -> str:
    lines = []
    if report.get("languages_without_texts"):
        lines += [f"Not evaluated (demo.texts writes no descriptions in them): {', '.join(report['languages_without_texts'])}.", ""]
    trained = report.get("trained_languages")
    if report.get("portrait_music", 1.0) < 1.0:
        lines += [f"What the notes do (mode, range, motion, ...) is known for {report['portrait_music']:.0%} of the held-out works "
                  "(a library keeps no such features; give --data, the corpus built by demo.build): the other portraits "
                  "name the class, function, era and voices only.", ""]
    for section in report["kinds"].values():
        lines += [f"### {section['title']}: {section['pool']} held-out works", ""]
        for part in (classification_table(section) if section["classification"] else [],
                     *(retrieval_table(section, trained, query) for query in QUERIES),
                     neighbours_table(section), rendering_table(section, trained)):
            if part:
                lines += part + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--data", default="data/demo", help="a corpus built by demo.build")
    parser.add_argument("--library", default=None, help="evaluate this built library (read-only); the kinds it does not hold (MTF) come from --data where that corpus is built")
    parser.add_argument("--languages", default=",".join(LANGUAGES),
                        help="query and prompt languages (default: all of demo.languages; those demo.texts does not write are skipped)")
    parser.add_argument("--kinds", default="abc,mtf,audio", help="file kinds to evaluate (default: abc,mtf,audio)")
    parser.add_argument("--neighbours", choices=("heldout", "all"), default="heldout",
                        help="the items whose neighbours are compared: the held-out split (default) or every labelled item")
    parser.add_argument("--trained-languages", default=None,
                        help="the languages the model was trained in, comma-separated (default: those of the corpus's "
                             "training texts; with --library, the TRAIN_LANGUAGES of demo.languages; the first edition's: en,de,fr,es,it,zh,ja,ru)")
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)
    kinds = tuple(args.kinds.split(","))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kind '{unknown[0]}'; expected one of {', '.join(KINDS)}")
    report = evaluate(args.weights, Path(args.data), args.languages.split(","), kinds,
                      library=Path(args.library) if args.library else None, neighbour_pool=args.neighbours,
                      trained_languages=args.trained_languages.split(",") if args.trained_languages else None)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
