"""Full-size conformance: a SAAS-shaped checkpoint (about 458M parameters) with seeded random
weights gives the official extractor's embeddings.

The checkpoint is rebuilt here from its seed by ``tests/support.py: random_official_checkpoint``;
the goldens came from the official ``extract_clamp3.py`` loading the same file
(tests/data/README.md). Takes about a minute and 4 GB of memory on CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA, GOLDEN
from support import random_official_checkpoint, saas_shaped_config

from clamp3.embedding import Embedder
from clamp3.formats import read_items
from clamp3.models import load_model

SAAS = GOLDEN / "embed_saas"


@pytest.mark.slow
def test_full_size_official_embeddings(tmp_path):
    random_official_checkpoint(tmp_path / "saas_random.pth", saas_shaped_config(), seed=0)
    model = load_model(tmp_path / "saas_random.pth", text_model=str(DATA / "xlmr-base-shape"))
    assert sum(p.numel() for p in model.parameters()) == 457_896_960
    inputs = sorted((SAAS / "inputs").iterdir())
    items = [read_items(path)[0] for path in inputs]
    embedder = Embedder(model, batch_size=8)
    global_golden = np.load(SAAS / "global.npz")
    for path, vector in zip(inputs, embedder.encode_items(items, pooled=True)):
        assert vector.shape == (1, 768)
        assert np.abs(vector - global_golden[path.stem]).max() <= 1e-3, path.name
    steps_golden = np.load(SAAS / "steps_rows.npz")
    for path, steps in zip(inputs, embedder.encode_items(items, pooled=False)):
        assert steps.shape == (1, int(steps_golden[f"{path.stem}.length"]), 768), path.name
        rows = steps_golden[f"{path.stem}.rows"]
        assert np.abs(steps[0, rows] - steps_golden[f"{path.stem}.values"]).max() <= 1e-3, path.name
