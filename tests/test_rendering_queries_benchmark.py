"""benchmarks/rendering_queries.py's average precision: the mean of the precision at each relevant
item's rank, checked against sklearn's, and its refusal of a folder that holds no corpus."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score
from support import benchmark_script


@pytest.fixture(scope="module")
def script():
    with benchmark_script("rendering_queries") as module:
        yield module


def test_average_precision_is_the_mean_precision_at_each_relevant_rank(script):
    relevant = np.array([True, False, True, False, False, True])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])  # relevant at ranks 1, 3, 6
    assert script.average_precision(scores, relevant) == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores, relevant = rng.normal(size=50), rng.random(50) < 0.3
        assert script.average_precision(scores, relevant) == pytest.approx(average_precision_score(relevant, scores))


def test_a_folder_without_a_corpus_is_refused_before_any_model_loads(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        script.main(["--data", str(tmp_path), "--weights", "no-such-model"])
    assert exit_info.value.code == 2 and "no works.jsonl" in capsys.readouterr().err
