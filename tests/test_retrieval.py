"""Vectorised retrieval maths against naive loops written as the official scripts do them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clamp3.retrieval import (
    frechet_distance,
    group_similarity,
    official_key,
    pair_by_key,
    retrieval_metrics,
    retrieval_ranks,
)
from clamp3.zero_shot import ZeroShotClassifier


def official_ranks(queries, references, targets):
    """clamp3_eval.py's loop: sort by (similarity, is-target) descending."""
    ranks = []
    for query, target in zip(queries, targets):
        sims = torch.cosine_similarity(torch.tensor(query)[None], torch.tensor(references)).tolist()
        order = sorted(enumerate(sims), key=lambda x: (x[1], x[0] == target), reverse=True)
        ranks.append([i for i, _ in order].index(target) + 1)
    return np.array(ranks)


def test_ranks_equal_the_official_loop_ties_included():
    rng = np.random.default_rng(0)
    references = rng.standard_normal((300, 16)).astype(np.float32)
    references[10] = references[20]  # an exact tie with a target
    queries = references[rng.integers(0, 300, 200)] + 0.8 * rng.standard_normal((200, 16)).astype(np.float32)
    targets = rng.integers(0, 300, 200)
    targets[:5] = 20
    queries[:5] = references[20]
    ours = retrieval_ranks(queries, references, targets)
    np.testing.assert_array_equal(ours, official_ranks(queries, references, targets))
    assert (ours[:5] == 1).all()


def test_metrics():
    metrics = retrieval_metrics(np.array([1, 2, 10, 11, 200]))
    assert metrics["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 10 + 1 / 11 + 1 / 200) / 5)
    assert (metrics["hit@1"], metrics["hit@10"], metrics["hit@100"]) == (0.2, 0.6, 0.8)
    assert metrics["median_rank"] == 10 and metrics["mean_rank"] == pytest.approx(44.8)


def test_pairing_by_folder_and_name_before_the_first_dot():
    assert official_key("a/b/song.v2.npy") == "a/b/song" and official_key("song.mid") == "/song"
    pairing = pair_by_key(["x/s1.a.mid", "x/s1.b.mid", "x/s2.mid", "y/s1.mid"], ["x/s1.abc", "x/s3.abc"])
    assert pairing.query_index == [0, 1] and pairing.reference_index == [0, 0]
    assert pairing.unmatched_queries == ["x/s2.mid", "y/s1.mid"] and pairing.unmatched_references == ["x/s3.abc"]


def test_frechet_distance_against_the_closed_forms():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 4))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    shifted = a + np.array([3.0, 0, 0, 0])
    assert frechet_distance(a, shifted) == pytest.approx(9.0, rel=1e-6)
    scaled = a * 2  # ||mu - 2 mu||^2 + Tr(S + 4S - 2 * 2S)
    expected = (a.mean(0) ** 2).sum() + np.trace(np.cov(a, rowvar=False))
    assert frechet_distance(a, scaled) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="at least 2 vectors"):
        frechet_distance(a[:1], a)


def test_group_similarity_and_zero_shot():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert group_similarity(a, a[::-1]) == pytest.approx(1.0)
    prediction = ZeroShotClassifier(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]])).predict(np.array([[1.0, 0.1], [0.0, 1.0]]))
    cosines, probabilities = prediction.cosines, prediction.probabilities
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert list(probabilities.argmax(axis=1)) == [0, 1] == list(cosines.argmax(axis=1))


def test_zero_shot_prompt_ensemble_prior_and_templates():
    """Class vectors are the unit mean of unit prompt vectors; a prior adds its log to the logits;
    a template is filled by replacing {} only."""
    from clamp3.errors import Clamp3Error
    from clamp3.zero_shot import class_prompts

    table = {"x": [3.0, 0.0], "x!": [0.0, 2.0], "y": [0.0, 5.0], "y!": [0.0, 1.0]}
    classifier = ZeroShotClassifier.from_templates(lambda texts: np.array([table[t] for t in texts]), ["x", "y"], ["{}", "{}!"])
    np.testing.assert_allclose(classifier.class_vectors, [[2 ** -0.5, 2 ** -0.5], [0.0, 1.0]], atol=1e-6)
    assert class_prompts(["y"], ["{{}}"]) == {"y": ["{y}"]}
    with pytest.raises(Clamp3Error, match="has no"):
        class_prompts(["x"], ["no class"])
    item = np.array([[1.0, 1.0]])
    plain = classifier.predict(item).probabilities[0]
    tilted = ZeroShotClassifier(classifier.classes, classifier.class_vectors, classifier.temperature, np.log([0.9, 0.1])).predict(item)
    expected = plain * [0.9, 0.1] / (plain * [0.9, 0.1]).sum()
    np.testing.assert_allclose(tilted.probabilities[0], expected, rtol=1e-6)


def test_calibrated_merge_keeps_each_modalitys_order_and_puts_each_best_first():
    """Issue 18: "all" modalities merges per-modality lists by a calibrated score; checked against
    a naive merge written here."""
    from clamp3.retrieval import fit_threshold, merge_calibrated

    rng = np.random.default_rng(0)
    symbolic, audio = np.sort(rng.uniform(0.2, 0.5, 8))[::-1], np.sort(rng.uniform(0.0, 0.25, 8))[::-1]
    groups = [(symbolic, 0.1), (audio, -0.05)]
    merged = merge_calibrated(groups, 10)
    naive = sorted(((s - m) / (scores[0] - m), s, g, i) for g, (scores, m) in enumerate(groups) for i, s in enumerate(scores))
    naive = [(g, i) for _, _, g, i in sorted(naive, key=lambda e: (-e[0], -e[1], e[2], e[3]))][:10]
    assert [(g, i) for g, i, _ in merged] == naive
    assert {g for g, _, _ in merged[:2]} == {0, 1} and merged[0][2] == pytest.approx(1.0)  # both bests first
    for group in (0, 1):
        positions = [i for g, i, _ in merged if g == group]
        assert positions == sorted(positions)
    assert merge_calibrated([(np.zeros(0), 0.0), (audio, 0.0)], 3) == [(1, 0, 1.0), (1, 1, pytest.approx((audio[1]) / audio[0])), (1, 2, pytest.approx(audio[2] / audio[0]))]
    typical, threshold = fit_threshold(np.array([0.1, 0.2, 0.3, 0.4, 0.5]), 25)
    assert (typical, threshold) == (pytest.approx(0.3), pytest.approx(0.2))
    with pytest.raises(ValueError):
        fit_threshold(np.zeros(0), 25)


def test_filtered_ivf_search_of_many_queries_equals_one_at_a_time():
    """Queries ranked in blocks (ALLOWED_LISTS_BLOCK) give what each query gives alone."""
    from clamp3.retrieval import ALLOWED_LISTS_BLOCK, build_ivf, ivf_search, normalize

    rng = np.random.default_rng(0)
    matrix = normalize(rng.standard_normal((5000, 16)).astype(np.float32))
    queries = normalize(rng.standard_normal((ALLOWED_LISTS_BLOCK + 44, 16)).astype(np.float32))
    index = build_ivf(matrix, lists=100)
    allowed = np.flatnonzero(rng.random(5000) < 0.3)
    together = ivf_search(index, matrix, queries, 10, allowed)
    assert [hits for q in queries for hits in ivf_search(index, matrix, q[None], 10, allowed)] == together
    assert all(len(hits) == 10 and {row for _, row in hits} <= set(allowed.tolist()) for hits in together)


def test_rows_cache_keeps_rows_by_the_identity_of_the_arrays():
    from clamp3.retrieval import RowsCache

    cache, ids = RowsCache(), np.array([2, 4, 6, 8])
    allowed = np.array([4, 8, 9])
    rows = cache.get(ids, allowed)
    assert rows.tolist() == [1, 3] and cache.get(ids, allowed) is rows
    assert cache.get(ids, allowed.copy()) is not rows  # an equal array of another filter is found anew
    assert cache.get(ids.copy(), allowed) is not rows  # so are the rows of another version's ids
    assert cache.get(ids, np.array([2, 6]), keep=lambda r: r[r > 0]).tolist() == [2]


def test_the_allowed_rows_per_list_are_kept_while_the_index_holds_as_many_rows():
    """A filtered search counts a filter's rows per inverted list once; rows added to the index
    (an on-disk append) or another array of rows count anew, and the search still keeps to them."""
    from clamp3 import retrieval
    from clamp3.retrieval import build_ivf, ivf_search, normalize

    rng = np.random.default_rng(1)
    matrix = normalize(rng.standard_normal((6000, 16)).astype(np.float32))
    index = build_ivf(matrix[:5000], lists=50)
    allowed = np.flatnonzero(rng.random(6000) < 0.3)
    first = retrieval._allowed_per_list([index], allowed)
    assert first.sum() == np.count_nonzero(allowed < 5000)
    assert retrieval._allowed_per_list([index], allowed) is first  # kept
    assert retrieval._allowed_per_list([index], allowed.copy()) is not first  # another filter's array
    index.add(matrix[5000:])
    grown = retrieval._allowed_per_list([index], allowed)
    assert grown is not first and grown.sum() == len(allowed)
    hits = ivf_search(index, matrix, matrix[allowed[-3:]], 10, allowed)
    assert all({row for _, row in found} <= set(allowed.tolist()) for found in hits)
    assert [found[0][1] for found in hits] == allowed[-3:].tolist()  # the appended rows are found


def test_a_filtered_search_scans_lists_until_they_hold_the_rows_asked_for():
    """``allowed_scan``: the nearest lists holding allowed rows, until they hold that many of them;
    at least one list, never more than ``probes``."""
    from clamp3.retrieval import _allowed_lists, build_ivf, normalize

    rng = np.random.default_rng(2)
    index = build_ivf(normalize(rng.standard_normal((4000, 8)).astype(np.float32)), lists=40)
    query = normalize(rng.standard_normal((1, 8)).astype(np.float32))
    _, order = index.quantizer.search(query, 40)
    held = np.zeros(40, np.int64)
    held[order[0][[1, 3, 5, 7, 9, 11]]] = [50, 50, 50, 50, 50, 50]  # six lists, the nearest left out

    def scanned(probes, scan):
        assign, _ = _allowed_lists(index, query, probes, held, scan)
        return [int(list_) for list_ in assign[0] if list_ >= 0]

    assert scanned(10, None) == order[0][[1, 3, 5, 7, 9, 11]].tolist()  # every list holding one, nearest first
    assert scanned(10, 120) == order[0][[1, 3, 5]].tolist()  # 150 rows >= 120
    assert scanned(10, 100) == order[0][[1, 3]].tolist()
    assert scanned(10, 1) == order[0][[1]].tolist()  # at least one list
    assert scanned(4, 10_000) == order[0][[1, 3, 5, 7]].tolist()  # at most probes
