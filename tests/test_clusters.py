"""Labelled clusters (issue 20): k-means in the space, each cluster named by the labels that set it
apart, on planted groups whose right names are known; and in the Map tab and ``clamp3 map``."""

from __future__ import annotations

import numpy as np
import pytest

from clamp3.clusters import cluster_places, label_clusters, parse_vocabulary, with_clusters
from clamp3.errors import Clamp3Error


def planted(seed: int = 0):
    """Three groups of 40 unit vectors around three directions, and label texts: one near each
    direction, and two near all of them (which raw cosines would pick for every cluster)."""
    rng = np.random.default_rng(seed)
    directions = np.linalg.qr(rng.normal(size=(32, 3)))[0].T  # (3, 32) orthonormal
    vectors = np.concatenate([d + 0.25 * rng.normal(size=(40, 32)) / np.sqrt(32) for d in directions])
    common = directions.sum(axis=0)
    words = {"jig": directions[0], "chorale": directions[1], "lullaby": directions[2],
             "music": common * 3, "a tune": common * 3 + 0.1 * rng.normal(size=32)}

    def encode(texts: list[str]) -> np.ndarray:
        return np.stack([words[t] for t in texts]).astype(np.float32)

    return vectors.astype(np.float32), encode, list(words)


def test_planted_groups_are_found_and_named_by_what_sets_them_apart():
    vectors, encode, labels = planted()
    clusters = label_clusters(vectors, encode, "\n".join(labels) + "\n\njig\n", k=3)
    assert sorted(clusters.sizes) == [40, 40, 40]
    for group, name in enumerate(("jig", "chorale", "lullaby")):
        (found,) = set(clusters.assignments[group * 40 : (group + 1) * 40].tolist())  # one cluster a group
        assert clusters.labels[found].split(" / ")[0] == name  # not "music" or "a tune", near every group
    rows = with_clusters([_row(i) for i in range(120)], clusters)
    assert rows[0].metadata["cluster"].split(": ")[1] == clusters.labels[clusters.assignments[0]]
    places = cluster_places(np.arange(240, dtype=np.float32).reshape(120, 2), clusters)
    assert len(places) == 3 and all(text.startswith(f"{j + 1}: ") for j, (_, _, text) in enumerate(places))


def _row(i: int):
    from clamp3.library import LibraryItem

    return LibraryItem(i, f"/music/{i}.abc", str(i), "symbolic", f"tune {i}", {"region": "x"})


def test_bad_vocabularies_and_cluster_counts_get_one_message():
    vectors, encode, _ = planted()
    assert parse_vocabulary("jig\n\n  jig \nreel\n") == ["jig", "reel"]  # an empty line is skipped, repeats dropped
    with pytest.raises(Clamp3Error, match="vocabulary is empty"):
        label_clusters(vectors, encode, "\n  \n", k=3)
    with pytest.raises(Clamp3Error, match="between 1 and"):
        label_clusters(vectors, encode, "jig", k=0)
    with pytest.raises(Clamp3Error, match="the limit of a vocabulary"):
        parse_vocabulary("\n".join(f"label {i}" for i in range(1000)))
    assert parse_vocabulary("x" * 500) == ["x" * 100]  # a label is cut


def test_the_map_tab_and_clamp3_map_name_clusters_and_export_them(tmp_path, tiny_model_dir):
    """On a library of real scores embedded by the tiny model: the Map tab's clusters (cached per
    version, k and vocabulary), their names written on the figure and a column of the export; the
    CLI's CSV with a cluster column."""
    import csv
    import sys
    from pathlib import Path

    from support import official_scores

    from clamp3 import Embedder, Library, load_model
    from clamp3.cli import main

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from explorers import maps
    from explorers.context import Context

    (tmp_path / "scores").mkdir()
    scores = official_scores(tmp_path / "scores", 12)
    Library(tmp_path / "lib", create=True).add(scores, Embedder(load_model(tiny_model_dir)), progress=False)
    context = Context.load(str(tiny_model_dir), str(tmp_path / "lib"), home=str(tmp_path / "home"), read_only=False)
    try:
        rows = context.library.items()
        points = np.random.default_rng(0).normal(size=(len(rows), 2)).astype(np.float32)
        found = maps.clustered(context, rows, 3, "a jig\na chorale\na lullaby\nfour voices")
        assert maps.clustered(context, rows, 3, "a jig\na chorale\na lullaby\nfour voices") is found  # computed once
        named = with_clusters(rows, found)
        figure = maps.figure(named, points, "cluster", places=cluster_places(points, found))
        assert sorted(a.text for a in figure.layout.annotations) == sorted(f"{j + 1}: {n}" for j, n in enumerate(found.labels))
        assert {t.name.rsplit(" (", 1)[0] for t in figure.data} == {r.metadata["cluster"] for r in named}
        out = maps.export_csv(context, named, points, list(range(len(named))), "cluster")
        with open(out, encoding="utf-8") as handle:
            exported = list(csv.DictReader(handle))
        assert [row["cluster"] for row in exported] == [r.metadata["cluster"] for r in named]
        with pytest.raises(Clamp3Error, match="vocabulary is empty"):
            maps.clustered(context, rows, 3, "\n")
    finally:
        context.maps.close()
    assert main(["map", "--index", str(tmp_path / "lib"), "--out", str(tmp_path / "map.csv"), "--clusters", "3",
                 "--weights", str(tiny_model_dir)]) == 0
    with open(tmp_path / "map.csv", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 12 and len({row["cluster"] for row in written}) == 3
