"""Labelled clusters of a library: k-means in the embedding space, each cluster named by the label
texts that set its centre apart from the other clusters' centres.

Why k-means on the space and not a density clustering of the map: the 2-D map is UMAP's picture,
which tears and joins regions by its neighbour graph (the demo's map is a scatter of thin strands
of one key and metre), and HDBSCAN on it clusters those artefacts; on the 384-768-d unit vectors
themselves, spherical k-means (FAISS, cosine) gives clusters of the model's own similarity, each
with a centre the label texts can be compared to. ``k`` is the user's (default
``DEFAULT_CLUSTERS``), so a map shows a readable number of names.

Naming: a cluster's centre (the normalised mean of its members) is compared with every label text
(the vocabulary, in any language the model reads); a label's score for a cluster is its cosine to
that centre less its mean cosine to all the centres. Raw cosines would name every cluster after the
same few labels (text and music lie apart, and some texts are near all music); the contrast picks
what distinguishes one cluster from the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clamp3.errors import Clamp3Error
from clamp3.retrieval import normalize

DEFAULT_CLUSTERS = 12
MAX_CLUSTERS = 60
MAX_LABELS = 300  # label texts of one vocabulary (each is encoded)
MAX_LABEL_CHARACTERS = 100  # a longer label is cut
# The default vocabulary: styles, regions, forms, instruments, moods, eras (one label a line; the user edits it).
DEFAULT_VOCABULARY = """\
folk song
fiddle tune
chorale
hymn
madrigal
string quartet
dance
jig
reel
hornpipe
waltz
march
lullaby
children's song
love song
ballad
Irish music
Scottish music
German folk song
Chinese folk song
music from Lorraine
Polish folk song
Baroque music
Classical era music
Romantic music
Renaissance music
medieval music
piano
organ
violin
flute
voices in harmony
a single melody
happy
sad
calm
lively
in a major key
in a minor key
slow
fast"""


@dataclass(frozen=True)
class Clusters:
    """Of N items: each one's cluster (N,), and per cluster its label(s), size and centre (k, D)."""

    assignments: np.ndarray
    labels: list[str]
    sizes: list[int]
    centres: np.ndarray


def parse_vocabulary(text: str) -> list[str]:
    """One label a line; blank lines and repeats dropped; at most MAX_LABELS."""
    labels: dict[str, None] = {}  # (ordered, and a set: a long vocabulary costs one pass)
    for line in (text or "").splitlines():
        label = " ".join(line.split())[:MAX_LABEL_CHARACTERS]
        if label:
            labels[label] = None
            if len(labels) > MAX_LABELS:
                raise Clamp3Error(f"over {MAX_LABELS} labels: the limit of a vocabulary")
    if not labels:
        raise Clamp3Error("the label vocabulary is empty: give one label a line")
    return list(labels)


def kmeans(vectors: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (FAISS, cosine; the best of 3 starts): (assignments (N,), unit centres (k, D)); k is cut to N."""
    import faiss

    vectors = normalize(np.ascontiguousarray(vectors, dtype=np.float32))
    k = int(min(k, len(vectors)))
    if k < 1:
        raise Clamp3Error("no items to cluster")
    if k == 1:
        return np.zeros(len(vectors), np.int64), normalize(vectors.mean(axis=0, keepdims=True))
    clustering = faiss.Kmeans(vectors.shape[1], k, niter=25, nredo=3, seed=seed, spherical=True, verbose=False,
                              max_points_per_centroid=100_000)
    clustering.train(vectors)
    _, assignments = clustering.index.search(vectors, 1)
    return assignments[:, 0].astype(np.int64), normalize(clustering.centroids)


def name_clusters(centres: np.ndarray, label_vectors: np.ndarray, labels: Sequence[str], per_cluster: int = 2) -> list[str]:
    """Each centre's ``per_cluster`` labels of highest contrast (cosine to it less the mean cosine to
    all centres), joined by " / " (two clusters may share a name: the vocabulary may not tell them apart)."""
    cosines = normalize(centres) @ normalize(label_vectors).T  # (k, L)
    contrast = cosines - cosines.mean(axis=0, keepdims=True)
    names = []
    for row in contrast:
        best = np.argsort(-row, kind="stable")[:per_cluster]
        names.append(" / ".join(labels[i] for i in best))
    return names


def label_clusters(
    vectors: np.ndarray, encode_texts: Callable[[list[str]], np.ndarray], vocabulary: str | Sequence[str],
    k: int = DEFAULT_CLUSTERS, seed: int = 0,
) -> Clusters:
    """Cluster ``vectors`` (N, D) into ``k`` and name each cluster from ``vocabulary`` (a text of one
    label a line, or a list), whose labels ``encode_texts`` turns into vectors."""
    labels = parse_vocabulary(vocabulary if isinstance(vocabulary, str) else "\n".join(vocabulary))
    if not 1 <= int(k) <= MAX_CLUSTERS:
        raise Clamp3Error(f"clusters: between 1 and {MAX_CLUSTERS}, got {k}")
    assignments, centres = kmeans(vectors, int(k), seed)
    names = name_clusters(centres, encode_texts(labels), labels)
    sizes = np.bincount(assignments, minlength=len(centres)).tolist()
    return Clusters(assignments, names, sizes, centres)


def with_clusters(rows: Sequence, clusters: Clusters, field: str = "cluster") -> list:
    """``rows`` (LibraryItem, in the order clustered) with their cluster's number and name in the
    metadata field ``field`` ("3: fiddle tune / reel"), to colour a map and export by."""
    import dataclasses

    return [dataclasses.replace(row, metadata={**row.metadata, field: f"{j + 1}: {clusters.labels[j]}"})
            for row, j in zip(rows, clusters.assignments.tolist())]


def cluster_places(points: np.ndarray, clusters: Clusters) -> list[tuple[float, float, str]]:
    """Where each cluster's name goes on a map: the median of its members' points, and the name."""
    places = []
    for j, label in enumerate(clusters.labels):
        members = points[clusters.assignments == j]
        if len(members):
            x, y = np.median(members, axis=0)
            places.append((float(x), float(y), f"{j + 1}: {label}"))
    return places
