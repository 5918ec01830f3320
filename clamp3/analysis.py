"""Linear probes and maps of the embedding space.

scikit-learn, UMAP and plotly are imported inside the functions: none of them is needed to embed.
"""

from __future__ import annotations

import html
import json
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clamp3.errors import Clamp3Error
from clamp3.library import Library, LibraryItem, read_shipped_map
from clamp3.retrieval import normalize


def label_of(path: str | Path) -> str:
    """The official train_cls.py label: the file name up to its first underscore."""
    return Path(path).name.split("_")[0]


def train_probe(
    vectors: np.ndarray, labels: Sequence[str], eval_split: float = 0.2, balanced: bool = False, seed: int = 0
) -> tuple[dict, dict]:
    """Logistic regression on unit vectors -> (probe, report with accuracy, macro-F1, confusion)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
    from sklearn.model_selection import train_test_split

    classes = sorted(set(labels))
    if len(classes) < 2:
        raise Clamp3Error(f"a probe needs at least two classes, found {classes}")
    x, y = normalize(vectors), np.array([classes.index(label) for label in labels])
    counts = Counter(y.tolist())
    stratify = y if min(counts.values()) >= 2 and eval_split > 0 else None
    if eval_split > 0:
        train_x, eval_x, train_y, eval_y = train_test_split(x, y, test_size=eval_split, random_state=seed, stratify=stratify)
    else:
        train_x, eval_x, train_y, eval_y = x, x, y, y
    classifier = LogisticRegression(max_iter=2000, class_weight="balanced" if balanced else None)
    classifier.fit(train_x, train_y)
    predicted = classifier.predict(eval_x)
    present = sorted(set(train_y.tolist()) | set(eval_y.tolist()))
    report = {
        "train": int(len(train_y)),
        "eval": int(len(eval_y)),
        "accuracy": float(accuracy_score(eval_y, predicted)),
        "macro_f1": float(f1_score(eval_y, predicted, average="macro", labels=present, zero_division=0)),
        "majority_baseline": float(np.mean(eval_y == Counter(train_y.tolist()).most_common(1)[0][0])),
        "classes": classes,
        "confusion": confusion_matrix(eval_y, predicted, labels=list(range(len(classes)))).tolist(),
    }
    probe = {"classes": classes, "coef": classifier.coef_.tolist(), "intercept": classifier.intercept_.tolist()}
    return probe, report


def library_probe_data(directory: str | Path, label_field: str = "title") -> tuple[np.ndarray, list[str], dict]:
    """A library's vectors, labels (the title or a metadata field) and model, for :func:`train_probe`;
    items without the field are left out."""
    library = Library.open(directory)
    rows = [r for r in library.items() if label_field == "title" or label_field in r.metadata]
    if not rows:
        raise Clamp3Error(f"no item of {directory} has the metadata field '{label_field}'")
    labels = [r.title if label_field == "title" else r.metadata[label_field] for r in rows]
    model = {k: v for k, v in library.meta().items() if k in ("model", "fingerprint", "dim")}
    vectors = library.vectors_of([r.id for r in rows])
    library.close()
    return vectors, labels, model


def probe_predict(probe: dict, vectors: np.ndarray) -> np.ndarray:
    """(N, D) -> class probabilities (N, C)."""
    coef, intercept = np.asarray(probe["coef"]), np.asarray(probe["intercept"])
    logits = normalize(vectors) @ coef.T + intercept
    if logits.shape[1] == 1:  # binary: scikit-learn keeps one row of weights
        logits = np.hstack([-logits, logits]) / 2
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def save_probe(probe: dict, path: str | Path, model: dict) -> None:
    Path(path).write_text(json.dumps({**probe, "model": model}, ensure_ascii=False) + "\n", encoding="utf-8")


def load_probe(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Clamp3Error(f"{path}: not a probe file ({exc})") from exc


def umap_coordinates(vectors: np.ndarray, modalities: Sequence[str] | None = None, center: bool = False, seed: int = 42) -> np.ndarray:
    """(N, D) -> (N, 2) UMAP with the cosine metric.

    With ``center``, each modality's mean is subtracted first, so that scores, MIDI and audio of
    the same styles overlay instead of forming one cluster per modality.
    """
    import umap

    x = normalize(vectors)
    if center and modalities is not None:
        modalities = np.asarray(modalities)
        for modality in set(modalities.tolist()):
            x[modalities == modality] -= x[modalities == modality].mean(axis=0)
    neighbours = max(2, min(15, len(x) - 1))
    reducer = umap.UMAP(n_components=2, metric="cosine", n_neighbors=neighbours, random_state=seed, init="random", n_jobs=1)
    return reducer.fit_transform(x).astype(np.float32)


def library_map(
    library: Library, modality: str | None = None, center: bool = False, save: bool = True
) -> tuple[list[LibraryItem], np.ndarray]:
    """The library's items and their (N, 2) UMAP coordinates, computed once per library version.

    A shipped ``map.csv`` (id, x, y of every item, per-modality centred) is used as it is while
    the library holds exactly its items; other maps are kept in memory and, with ``save``, beside
    the library as ``.npy`` for the next start.
    """
    from clamp3.io import atomic_save_npy

    rows = library.items(modality)
    if len(rows) < 3:
        raise Clamp3Error(f"{library.directory}: a map needs at least 3 items, the library has {len(rows)}")
    table = read_shipped_map(library.directory) if center and modality is None else None
    if table is not None and len(table) == len(rows) and all(r.id in table for r in rows):
        return rows, np.asarray([table[r.id] for r in rows], dtype=np.float32)
    meta = library.meta()
    cached = library.directory / f"map-{meta.get('fingerprint', 'x')}-v{library.version}-{modality or 'all'}-{'c' if center else 'n'}.npy"
    # One computation per map: concurrent requests for the same map wait for the first one's result.
    with _map_lock(str(cached)):
        points = _MAPS.get(str(cached))
        if points is None and cached.exists():
            points = np.load(cached)
        if points is None or len(points) != len(rows):
            points = umap_coordinates(library.vectors_of([r.id for r in rows]), [r.modality for r in rows], center=center)
            try:
                if save:
                    atomic_save_npy(cached, points)
            except OSError:  # a read-only library keeps its map in memory only
                pass
        _MAPS[str(cached)] = points
        while len(_MAPS) > MAPS_IN_MEMORY:
            _MAPS.pop(next(iter(_MAPS)))
    return rows, points


MAPS_IN_MEMORY = 8
_MAPS: dict[str, np.ndarray] = {}  # the last maps computed or read, oldest first
_MAP_LOCKS: dict[str, threading.Lock] = {}
_MAP_LOCKS_GUARD = threading.Lock()


def _map_lock(key: str) -> threading.Lock:
    with _MAP_LOCKS_GUARD:
        return _MAP_LOCKS.setdefault(key, threading.Lock())


def place_on_map(vectors: np.ndarray, library_vectors: np.ndarray, points: np.ndarray, k: int = 10) -> np.ndarray:
    """(Q, D) new vectors -> (Q, 2) positions on an existing map: the similarity-weighted mean of
    their ``k`` nearest items' coordinates (UMAP keeps no transform for a map read from disk)."""
    cosines = normalize(vectors) @ library_vectors.T
    k = min(k, cosines.shape[1])
    nearest = np.argsort(-cosines, axis=1)[:, :k]
    weights = np.exp((np.take_along_axis(cosines, nearest, axis=1) - 1.0) / 0.05)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("qk,qkc->qc", weights, points[nearest]).astype(np.float32)


# plotly's Dark24, written out so that choosing colours needs no plotly: the colours of a map's
# most common values, the same in `clamp3 map` and the app's map
MAP_PALETTE = (
    "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#222A2A", "#B68100", "#750D86",
    "#EB663B", "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
    "#862A16", "#A777F1", "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63", "#AF0038",
)
MAP_OTHER_COLOR = "#BBBBBB"  # the values beyond the palette's (the app folds them into "other")
NO_VALUE = "(none)"  # how a map names the items without a value of the field


def map_colors(values: Sequence[str]) -> dict[str, str]:
    """A colour per value of the field a map is coloured by (``values``: one per item, repeats
    counted). The most common values, as many as :data:`MAP_PALETTE` holds (ties broken by name),
    take its colours in sorted order; the others are absent (drawn in :data:`MAP_OTHER_COLOR`).
    A function of the values alone, so the same field of the same library has the same colours in
    ``clamp3 map`` and the app."""
    counts = Counter(values)
    common = sorted(sorted(counts, key=lambda v: (-counts[v], v))[: len(MAP_PALETTE)])
    return dict(zip(common, MAP_PALETTE))


def map_figure(points: np.ndarray, rows: list[LibraryItem], color_by: str | None):
    """The plotly figure of a map: a trace per value of ``color_by`` (default: modality), coloured
    by :func:`map_colors`, titles on hover."""
    import plotly.graph_objects as go

    values = [_map_value(row, color_by) or NO_VALUE for row in rows]
    colors = map_colors(values)
    # plotly renders a set of HTML tags in legend names, hover text and titles: every value from
    # the library is escaped first
    figure = go.Figure()
    for value in sorted(set(values)):
        members = [i for i, v in enumerate(values) if v == value]
        figure.add_trace(
            go.Scattergl(
                x=points[members, 0], y=points[members, 1], mode="markers", name=html.escape(value),
                text=[html.escape(rows[i].title) for i in members], hovertemplate="%{text}<extra>" + html.escape(value) + "</extra>",
                marker={"size": 6, "opacity": 0.8, "color": colors.get(value, MAP_OTHER_COLOR)},
            )
        )
    figure.update_layout(title=f"CLaMP 3 map, coloured by {html.escape(color_by or 'modality')}", template="plotly_white")
    return figure


def _map_value(row: LibraryItem, color_by: str | None) -> str:
    return str(row.metadata.get(color_by, row.to_dict().get(color_by, ""))) if color_by else row.modality


def write_map(points: np.ndarray, rows: list[LibraryItem], color_by: str | None, out: str | Path) -> None:
    """An interactive plotly HTML (:func:`map_figure`) or a CSV, by the extension of ``out``."""
    import csv

    out = Path(out)
    if out.suffix.lower() == ".csv":
        with open(out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "x", "y", "title", "modality", "path", color_by or "modality"])
            for (x, y), row in zip(points, rows):
                writer.writerow([row.id, f"{x:.5f}", f"{y:.5f}", row.title, row.modality, row.path, _map_value(row, color_by)])
        return
    map_figure(points, rows, color_by).write_html(out, include_plotlyjs=True)
