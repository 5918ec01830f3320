"""Retrieval on embedding matrices: ranks and metrics, pairing by file name, similarity scores,
and the Fréchet distance between embedding sets.

Everything is vectorised over (queries, references) and computed in row blocks, so a 10,000 x
10,000 evaluation takes seconds and bounded memory.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

BLOCK = 1024
SCORE_BYTES = 64 << 20  # scores held at once by exact_top_k: 16 queries against a million rows


UNIT_TOLERANCE = 1e-5


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero); float32.

    Rows already of unit length (within ``UNIT_TOLERANCE``) are kept bit for bit, so that
    normalising twice changes nothing: the CLI, the app and the model card, which normalise at
    different steps, then give the same numbers for the same vectors.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(np.abs(norms - 1) <= UNIT_TOLERANCE, np.float32(1), np.maximum(norms, 1e-8))


def cosine_matrix(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """(Q, D), (R, D) -> (Q, R) cosine similarities."""
    return normalize(queries) @ normalize(references).T


def retrieval_ranks(queries: np.ndarray, references: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """1-based rank of ``references[targets[i]]`` among all references for query i.

    A reference tied with the target is ranked after it, as in the official clamp3_eval.py.
    """
    targets = np.asarray(targets)
    q, r = normalize(queries), normalize(references)
    ranks = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), BLOCK):
        block = q[start : start + BLOCK] @ r.T  # (block, R)
        correct = block[np.arange(len(block)), targets[start : start + BLOCK]]
        ranks[start : start + BLOCK] = (block > correct[:, None]).sum(axis=1) + 1
    return ranks


def exact_top_k(
    matrix: np.ndarray, queries: np.ndarray, k: int, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows (N, D), unit queries (Q, D) -> scores and row indices (Q, min(k, n)), best first
    (equal scores in row order); with ``rows`` (ascending row indices), only those n rows are searched.

    The matrix is never copied (a copy cost 9x the search at 100,000 rows): the queries are scored
    against all of it in blocks of at most ``SCORE_BYTES`` of scores, and rows outside ``rows`` are
    masked out; only a small ``rows`` (under a quarter of the matrix, where copying them costs less
    than scoring the rest) is gathered first.
    """
    gathered = rows is not None and len(rows) * 4 < len(matrix)
    searched = matrix[rows] if gathered else matrix  # (n, D) when gathered: a small part of the matrix
    excluded = None
    if rows is not None and not gathered:
        excluded = np.ones(len(matrix), dtype=bool)
        excluded[rows] = False
    n = len(matrix) if rows is None else len(rows)
    top = min(k, n)
    all_scores, all_rows = np.empty((len(queries), top), np.float32), np.empty((len(queries), top), np.int64)
    if top == 0:
        return all_scores, all_rows
    block = max(1, min(256, SCORE_BYTES // (4 * len(searched))))
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ searched.T  # (block, N or n)
        if excluded is not None:
            scores[:, excluded] = -np.inf
        best = np.argpartition(scores, scores.shape[1] - top, axis=1)[:, -top:]
        best_scores = np.take_along_axis(scores, best, axis=1)
        # best score first; equal scores in row order, as a full stable sort would give them
        order = np.lexsort((best, -best_scores), axis=1)
        best = np.take_along_axis(best, order, axis=1)
        all_rows[start : start + block] = rows[best] if gathered else best
        all_scores[start : start + block] = np.take_along_axis(best_scores, order, axis=1)
    return all_scores, all_rows


# A steered query: parts (texts, items, files) each with a weight, a "minus" part's weight negative;
# the query is the weighted sum of the parts' unit vectors, made unit again. Weights are capped so a
# typo (1e9) cannot make one part all of it silently; they need not sum to 1.
MAX_PART_WEIGHT = 100.0


def steer(vectors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Parts' vectors (each (D,) or (1, D)) and their weights -> the (1, D) unit query vector:
    sum(weight x unit vector), normalised. Refused (ValueError, saying why) when the weights are not
    finite, one is over MAX_PART_WEIGHT in size, all are zero, or the parts cancel out."""
    if len(vectors) != len(weights):
        raise ValueError(f"{len(weights)} weights for {len(vectors)} query parts: give one weight a part")
    if not vectors:
        raise ValueError("an empty query: give a text, a file or an item")
    weights = np.asarray(weights, dtype=np.float64)
    if not np.isfinite(weights).all():
        raise ValueError("the query's weights must be numbers")
    if np.abs(weights).max() > MAX_PART_WEIGHT:
        raise ValueError(f"a query part's weight is at most {MAX_PART_WEIGHT:g} in size")
    if not np.any(weights):
        raise ValueError("the query's weights are all zero: give at least one part a weight")
    units = normalize(np.stack([np.asarray(v, dtype=np.float32).reshape(-1) for v in vectors]))
    combined = (weights[:, None] * units).sum(axis=0)
    if np.linalg.norm(combined) < 1e-6:
        raise ValueError("the query's parts cancel out (their weighted sum is zero): weigh them otherwise")
    return normalize(combined.reshape(1, -1).astype(np.float32))


def top_k(queries: np.ndarray, references: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Any (Q, D) queries and (N, D) references -> cosines and reference rows (Q, min(k, N)), best first."""
    return exact_top_k(normalize(references), normalize(queries), k)


# "All modalities" at once: a text query's cosines to scores sit higher than to audio (or the other way)
# for every query, whatever it asks (the modality gap), so one ranking by raw cosine returns a single
# modality. Each modality is ranked on its own and the lists merged by a calibrated score: how far a
# hit stands above the query's mean cosine to that modality's items (a seeded sample of them), as a
# share of how far that modality's best hit stands above it. A z-score (over the spread) was tried
# first: on the demo library it turned audio queries' lists from all audio into all scores (the
# cosines of audio to scores are narrowly spread, so their best lie many spreads out).
CALIBRATION_SAMPLE = 2048  # items per modality whose cosines give the query's mean


def score_means(queries: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Unit queries (Q, D) and unit rows (S, D) -> each query's mean cosine to the rows (Q,)."""
    return (queries @ sample.T).mean(axis=1)  # (Q, S) -> (Q,)


def merge_calibrated(groups: Sequence[tuple[np.ndarray, float]], k: int) -> list[tuple[int, int, float]]:
    """Ranked score lists of one query, one per modality (best first), each with the query's mean
    cosine to that modality -> up to ``k`` (group, position, calibrated score), best first, where a
    hit's calibrated score is (score - mean) / (the group's best - mean): each group's best is 1.
    Ties go to the higher cosine, then to the earlier group. Within a group the order is kept."""
    pooled = []
    for g, (scores, mean) in enumerate(groups):
        if len(scores):
            height = max(float(scores[0]) - mean, 1e-6)
            pooled += [((float(score) - mean) / height, float(score), g, i) for i, score in enumerate(scores)]
    pooled.sort(key=lambda entry: (-entry[0], -entry[1], entry[2], entry[3]))
    return [(g, i, calibrated) for calibrated, _, g, i in pooled[:k]]


def fit_threshold(best_scores: np.ndarray, percentile: float) -> tuple[float, float]:
    """The best cosines that in-library queries reach (their top-1 scores) -> (typical, threshold):
    their median, and the ``percentile`` below which a query's best score is called "no fit"."""
    best_scores = np.asarray(best_scores, dtype=np.float64)
    if best_scores.size == 0:
        raise ValueError("no scores to calibrate the fit threshold from")
    return float(np.median(best_scores)), float(np.percentile(best_scores, percentile))


# The library's approximate index: an inverted file of 8-bit codes whose candidates are re-ranked by
# the exact vectors. Chosen by recall on realistic vectors (benchmarks/ann.py): HNSW (M=32, efSearch
# 128) found 0.77 of the true top 10 for text queries at 100,000 items, whose vectors lie away from
# the music they search (the modality gap), and 0.93 at efSearch 512; this index finds 0.95+ for text
# and music queries alike.
IVF_TRAIN_PER_LIST = 40  # k-means is trained on this many sampled vectors per list (FAISS asks for 39)
IVF_PROBE_FRACTION = 1 / 20  # the share of the lists a query scans (at least IVF_MIN_PROBES)
IVF_MIN_PROBES = 32
IVF_CANDIDATES = 128  # re-ranked exactly per query (at least 4k)


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: about sqrt(n) (316 at 100,000 items, 1,000 at a million).
    Training grows with the square of the lists: 4,000 lists took over 10 minutes to train on 2 cores
    at a million items, 1,000 lists about a minute, at the same recall for the same share scanned."""
    return int(max(1, min(n // IVF_TRAIN_PER_LIST, round(np.sqrt(n)))))


def ivf_probes(lists: int) -> int:
    return int(min(lists, max(IVF_MIN_PROBES, round(lists * IVF_PROBE_FRACTION))))


def build_ivf(matrix: np.ndarray, lists: int | None = None, seed: int = 0):
    """A FAISS inverted file of 8-bit scalar-quantised unit rows (inner product), trained on a seeded
    sample and filled block by block from ``matrix`` (which may be memory-mapped: nothing is copied
    whole). The codes take a quarter of the float32 matrix; ``ivf_search`` re-ranks by the matrix."""
    import faiss

    n, dim = matrix.shape
    lists = lists or ivf_lists(n)
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    sample = np.sort(np.random.default_rng(seed).choice(n, min(n, IVF_TRAIN_PER_LIST * lists), replace=False))
    index.train(np.ascontiguousarray(matrix[sample], dtype=np.float32))
    for start in range(0, n, 65_536):
        index.add(np.ascontiguousarray(matrix[start : start + 65_536], dtype=np.float32))
    return index


def ivf_search(
    index, matrix: np.ndarray, queries: np.ndarray, k: int, allowed_rows: np.ndarray | None = None
) -> list[list[tuple[float, int]]]:
    """Per query, up to ``k`` (exact cosine, row) best first: the index's candidates (only among
    ``allowed_rows`` when given: the nearest lists holding allowed rows, as many as hold
    ``filtered_scan`` of them, at most proportionally more lists than unfiltered), re-ranked by the
    unit rows of ``matrix``."""
    bitmap = None if allowed_rows is None else row_bitmap(allowed_rows, len(matrix))
    unfiltered = ivf_probes(index.nlist)
    probes = scaled_probes(unfiltered, index.nlist, len(matrix), len(matrix) if allowed_rows is None else len(allowed_rows))
    scan = None if allowed_rows is None else filtered_scan(unfiltered, index.nlist, len(matrix))
    candidates = ivf_candidates([index], queries, max(IVF_CANDIDATES, 4 * k), probes, bitmap, allowed_rows, scan)
    return rerank(matrix, queries, candidates, k)


def rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The rows of the matrix (whose ascending ``ids``) that hold the ascending ids ``wanted``; ids
    that it lacks (items added since the matrix was read) are left out."""
    if len(ids) == 0:
        return np.zeros(0, np.int64)
    rows = np.searchsorted(ids, wanted)
    return rows[ids[np.minimum(rows, len(ids) - 1)] == wanted]


class IdentityCache:
    """Values computed from objects (arrays, indexes), kept for the last ``size`` combinations of
    them: compared by identity and held weakly (an array is not to be changed in place), beside
    plain values (``extra``) that must also match."""

    def __init__(self, size: int = 8):
        self.size = size
        self._kept: dict[tuple, tuple[list[weakref.ref], object]] = {}  # ids and extra -> (refs, value)

    def get(self, objects: tuple, compute: Callable[[], object], extra: tuple = ()):
        key = (*map(id, objects), *extra)
        cached = self._kept.get(key)
        if cached is not None and all(ref() is obj for ref, obj in zip(cached[0], objects)):
            return cached[1]
        value = compute()
        for stale in [k for k, (refs, _) in self._kept.items() if any(ref() is None for ref in refs)]:
            self._kept.pop(stale, None)
        if len(self._kept) >= self.size:
            self._kept.clear()
        self._kept[key] = ([weakref.ref(obj) for obj in objects], value)
        return value


class RowsCache:
    """``rows_of(ids, allowed)`` kept for the last few ``allowed`` arrays of one ``ids``
    (``IdentityCache``): a library's filter cache hands the same arrays out again, and finding
    330,000 ids among a million takes 10 ms (50 ms at 10^6 allowed ids). ``keep`` (rows -> rows)
    narrows what is kept, as the on-disk index keeps only its live rows."""

    SIZE = 8

    def __init__(self):
        self._ids: np.ndarray | None = None
        self._kept = IdentityCache(self.SIZE)

    def get(self, ids: np.ndarray, allowed: np.ndarray, keep: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        if ids is not self._ids:
            self._ids, self._kept = ids, IdentityCache(self.SIZE)

        def rows() -> np.ndarray:
            found = rows_of(ids, allowed)
            return found if keep is None else keep(found)

        return self._kept.get((allowed,), rows)


def row_bitmap(rows: np.ndarray, n: int) -> np.ndarray:
    """Ascending or not, rows of ``n`` -> FAISS's bitmap of them (bit i of byte i // 8 set for row i)."""
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return np.packbits(mask, bitorder="little")


# A filtered search scans the nearest lists holding allowed rows until they hold this many times
# the rows an unfiltered search scans (``ivf_candidates``'s ``allowed_scan``). At 10^6 grown demo
# vectors (benchmarks/filtered.py) 1.5 kept recall@10 within 0.006 of scanning the scaled probe
# count (``scaled_probes``) for text and music queries under a modality or region filter, in up to
# 1.9x less time (region=China: 10.9-11.1 -> 5.6-6.2 ms p50); 1.0 lost up to 0.024 (0.955), 2.0
# gained nothing more.
FILTERED_SCAN = 1.5


def filtered_scan(probes: int, lists: int, n: int) -> int:
    """The allowed rows a filtered search scans: FILTERED_SCAN x the rows of ``probes`` of ``lists``
    lists that hold ``n`` rows."""
    return int(np.ceil(FILTERED_SCAN * probes * n / max(1, lists)))


def scaled_probes(probes: int, lists: int, n: int, allowed: int) -> int:
    """The lists to scan when only ``allowed`` of the ``n`` rows may be returned: proportionally more
    (the allowed rows of a list are fewer), at most all of them."""
    return int(min(lists, np.ceil(probes * n / max(1, allowed))))


def ivf_candidates(indexes, queries: np.ndarray, count: int, probes: int, bitmap: np.ndarray | None = None,
                   allowed_rows: np.ndarray | None = None, allowed_scan: int | None = None) -> list[np.ndarray]:
    """Per query, the ascending labels of the best ``count`` of each inverted file in ``indexes``
    (segments of one index, labels disjoint, one quantizer), scanning ``probes`` lists; only labels
    set in ``bitmap`` (``row_bitmap``) when given.

    With ``allowed_rows`` (the labels ``bitmap`` sets) the lists scanned are the query's nearest
    among those holding an allowed label. The nearest lists overall can hold none: a score's
    neighbours among recordings lie across the modality gap, in lists of their own (a modality
    filter at 10^6 grown demo vectors found 0.48 of the true top 10 that way; benchmarks/milvus.py).
    ``probes`` of them, or with ``allowed_scan`` as many of them, nearest first, as hold that many
    allowed labels between them (at least one list, at most ``probes``): a filter whose rows gather
    in a few lists (a modality) then scans what an unfiltered search scans, one spread thin over
    every list (a region) up to ``probes``."""
    import faiss

    selector = None if bitmap is None else faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
    params = faiss.SearchParametersIVF(nprobe=probes, sel=selector)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    indexes = [index for index in indexes if index.ntotal]
    if not indexes:
        return [np.zeros(0, np.int64) for _ in queries]
    if allowed_rows is None:
        found = [index.search(queries, count, params=params)[1] for index in indexes]  # each (Q, count)
    else:
        if not all(isinstance(faiss.downcast_index(index), faiss.IndexIVF) for index in indexes):
            raise TypeError("a filtered search ranks the lists itself: it takes plain inverted files (no transform in front)")
        held = _allowed_per_list(indexes, np.asarray(allowed_rows))
        found = [np.empty((len(queries), count), np.int64) for _ in indexes]
        for start in range(0, len(queries), ALLOWED_LISTS_BLOCK):
            block = queries[start : start + ALLOWED_LISTS_BLOCK]
            assign, centroid_scores = _allowed_lists(indexes[0], block, probes, held,
                                                     None if allowed_scan is None else max(allowed_scan, count))
            params.nprobe = assign.shape[1]
            for index, labels in zip(indexes, found):
                part, distances = labels[start : start + len(block)], np.empty((len(block), count), np.float32)
                faiss.extract_index_ivf(index).search_preassigned_c(  # the Python wrapper takes no search parameters
                    len(block), faiss.swig_ptr(block), count, faiss.swig_ptr(assign), faiss.swig_ptr(centroid_scores),
                    faiss.swig_ptr(distances), faiss.swig_ptr(part), False, params)
    labels = np.concatenate(found, axis=1)  # (Q, count x segments)
    return [np.sort(row[row >= 0]) for row in labels]


ALLOWED_LISTS_BLOCK = 256  # queries whose lists are ranked at once (each ranks every list: Q x lists scores)
_LIST_OF_LABEL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # index -> (ntotal, first label, list of each label)


def _list_of_label(index) -> tuple[int, np.ndarray]:
    """(first label, the inverted list holding each label from it on, -1 for none) of ``index``;
    read once from its lists (a few ms at a million rows) and kept while the index lives."""
    import faiss

    cached = _LIST_OF_LABEL.get(index)
    if cached is not None and cached[0] == index.ntotal:
        return cached[1], cached[2]
    ivf = faiss.extract_index_ivf(index)
    lists, parts = ivf.invlists, []
    for number in range(ivf.nlist):
        size = lists.list_size(number)
        if size:
            pointer = lists.get_ids(number)
            parts.append((faiss.rev_swig_ptr(pointer, size).copy(), number))
            lists.release_ids(number, pointer)
    first = min((int(labels.min()) for labels, _ in parts), default=0)
    owner = np.full(max((int(labels.max()) for labels, _ in parts), default=-1) + 1 - first, -1, dtype=np.int32)
    for labels, number in parts:
        owner[labels - first] = number
    _LIST_OF_LABEL[index] = (index.ntotal, first, owner)
    return first, owner


_HELD_PER_LIST = IdentityCache(RowsCache.SIZE)


def _allowed_per_list(indexes, allowed_rows: np.ndarray) -> np.ndarray:
    """(lists,) how many of ``allowed_rows`` each inverted list of ``indexes`` (one quantizer) holds;
    kept for the last few arrays of rows while they live (``IdentityCache``: the arrays
    ``RowsCache`` hands out again), while the indexes are the same and hold as many rows: 20 ms a
    search at 10^7 rows otherwise."""
    import faiss

    def count() -> np.ndarray:
        held = np.zeros(faiss.extract_index_ivf(indexes[0]).nlist, dtype=np.int64)
        for index in indexes:
            first, owner = _list_of_label(index)
            lists = owner[allowed_rows[(allowed_rows >= first) & (allowed_rows < first + len(owner))] - first]
            held += np.bincount(lists[lists >= 0], minlength=len(held))
        held.setflags(write=False)  # shared by the searches that find it here
        return held

    return _HELD_PER_LIST.get((allowed_rows, *indexes), count, extra=tuple(index.ntotal for index in indexes))


def _allowed_lists(index, queries: np.ndarray, probes: int, held: np.ndarray,
                   allowed_scan: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per query the nearest lists of ``index`` that hold an allowed label (``held`` > 0): ``probes``
    of them, or as many as hold ``allowed_scan`` allowed labels (at least one, at most ``probes``);
    padded with -1 where fewer, and the query's scores against their centroids, as FAISS's
    ``search_preassigned`` takes them."""
    import faiss

    ivf = faiss.extract_index_ivf(index)
    width = int(max(1, min(probes, np.count_nonzero(held))))
    scores, order = ivf.quantizer.search(queries, ivf.nlist)  # every list, nearest first
    picked = []
    for row_order in order:
        chosen = np.flatnonzero(held[row_order] > 0)[:width]
        if allowed_scan is not None and len(chosen):
            chosen = chosen[: int(np.searchsorted(np.cumsum(held[row_order[chosen]]), allowed_scan)) + 1]
        picked.append(chosen)
    width = max(1, max(len(chosen) for chosen in picked))
    assign = np.full((len(queries), width), -1, dtype=np.int64)
    centroid_scores = np.zeros((len(queries), width), dtype=np.float32)
    for q, (chosen, row_scores, row_order) in enumerate(zip(picked, scores, order)):
        assign[q, : len(chosen)], centroid_scores[q, : len(chosen)] = row_order[chosen], row_scores[chosen]
        if len(chosen):  # padding scored as the last list scanned: fast-scan codes scale by the scores' range
            centroid_scores[q, len(chosen) :] = row_scores[chosen[-1]]
    return assign, centroid_scores


def rerank(matrix: np.ndarray, queries: np.ndarray, candidates: Sequence[np.ndarray], k: int) -> list[list[tuple[float, int]]]:
    """Unit rows (N, D) (float32 or float16, memory-mapped or not), unit queries (Q, D) and each
    query's ascending candidate rows -> per query up to ``k`` (exact cosine, row), best first (equal
    scores in row order, as exact search gives them)."""
    results = []
    for query, rows in zip(queries, candidates):
        scores = np.asarray(matrix[rows], dtype=np.float32) @ query  # (candidates,)
        order = np.lexsort((rows, -scores))[:k]
        results.append([(float(scores[i]), int(rows[i])) for i in order])
    return results


def build_hnsw(matrix: np.ndarray, m: int = 32, ef_construction: int = 80):
    """A FAISS HNSW index (inner product) over unit rows."""
    import faiss

    index = faiss.IndexHNSWFlat(matrix.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(matrix, dtype=np.float32))
    return index


def retrieval_metrics(ranks: np.ndarray) -> dict[str, float]:
    ranks = np.asarray(ranks)
    return {
        "queries": int(len(ranks)),
        "mrr": float(np.mean(1.0 / ranks)),
        "hit@1": float(np.mean(ranks <= 1)),
        "hit@10": float(np.mean(ranks <= 10)),
        "hit@100": float(np.mean(ranks <= 100)),
        "mean_rank": float(np.mean(ranks)),
        "median_rank": float(np.median(ranks)),
    }


def official_key(relative_path: str) -> str:
    """The official pairing key: the folder relative to the root, plus the file name up to its
    first dot (``a/song.v1.npy`` and ``a/song.mid`` pair as ``a/song``)."""
    folder, _, name = relative_path.replace("\\", "/").rpartition("/")
    return f"{folder}/{name.split('.')[0]}"


@dataclass
class Pairing:
    """Queries matched to references by :func:`official_key`; several queries may share one."""

    query_index: list[int]
    reference_index: list[int]
    unmatched_queries: list[str]
    unmatched_references: list[str]


def pair_by_key(query_paths: Sequence[str], reference_paths: Sequence[str]) -> Pairing:
    references: dict[str, int] = {}
    for index, path in enumerate(reference_paths):
        references.setdefault(official_key(path), index)
    query_keys = [official_key(p) for p in query_paths]
    matched = [(i, references[k]) for i, k in enumerate(query_keys) if k in references]
    used = {references[k] for k in query_keys if k in references}
    return Pairing(
        query_index=[i for i, _ in matched],
        reference_index=[j for _, j in matched],
        unmatched_queries=[p for p, k in zip(query_paths, query_keys) if k not in references],
        unmatched_references=[p for j, p in enumerate(reference_paths) if j not in used],
    )


def pair_ranks(queries: np.ndarray, references: np.ndarray, pairing: Pairing) -> tuple[np.ndarray, int]:
    """1-based rank of each paired query's reference among the matched references only (as the
    official clamp3_eval.py ranks), and how many references that pool holds."""
    matched = sorted(set(pairing.reference_index))
    position = {j: n for n, j in enumerate(matched)}
    ranks = retrieval_ranks(queries[pairing.query_index], references[matched], [position[j] for j in pairing.reference_index])
    return ranks, len(matched)


def pair_similarities(queries: np.ndarray, references: np.ndarray, pairing: Pairing) -> np.ndarray:
    """Cosine of each paired query with its reference, in the pairing's order."""
    return (normalize(queries[pairing.query_index]) * normalize(references[pairing.reference_index])).sum(axis=1)


def group_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the two mean vectors (the official ``--group`` score)."""
    return float(cosine_matrix(np.mean(a, axis=0)[None], np.mean(b, axis=0)[None])[0, 0])


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2), the FID construction.

    Tr((S_a S_b)^1/2) is the sum of the square roots of the eigenvalues of S_a S_b (real and
    non-negative for covariance matrices), which is exact where a matrix square root is not.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"the Fréchet distance needs at least 2 vectors per set, got {len(a)} and {len(b)}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b).real
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def frechet_bootstrap(a: np.ndarray, b: np.ndarray, samples: int = 100, seed: int = 0) -> tuple[float, float]:
    """A 95% bootstrap interval of the Fréchet distance (both sets resampled with replacement)."""
    rng = np.random.default_rng(seed)
    values = [
        frechet_distance(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))]) for _ in range(samples)
    ]
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)
