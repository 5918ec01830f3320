"""Linear probes of the embedding space, and a map written as a page or a table (the map itself is
computed by :mod:`clamp3.library.maps`).

scikit-learn and plotly are imported inside the functions: neither is needed to embed.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from clamp3.errors import Clamp3Error
from clamp3.library import Library, LibraryItem
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


def plotly_text(text: str) -> str:
    """``text`` for plotly's labels (legend names, hover text, titles, annotations): the few HTML
    tags plotly renders there escaped (``<``, ``>``, ``&``); quotes kept as they are, since plotly
    shows an escaped quote as the entity itself (a title "Ulrich" hovered as &quot;Ulrich&quot;)."""
    return html.escape(text, quote=False)


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


def name_places(figure, places: Sequence[tuple[float, float, str]]) -> None:
    """Names written on a map at (x, y) (clusters' names: ``clamp3.clusters.cluster_places``), escaped."""
    for x, y, text in places:
        figure.add_annotation(x=x, y=y, text=plotly_text(text), showarrow=False, font={"size": 12, "color": "#111"},
                              bgcolor="rgba(255,255,255,0.75)", bordercolor="#888", borderwidth=1)


def map_figure(points: np.ndarray, rows: list[LibraryItem], color_by: str | None, places: Sequence[tuple[float, float, str]] = ()):
    """The plotly figure of a map: a trace per value of ``color_by`` (default: modality), coloured
    by :func:`map_colors`, titles on hover; ``places``: names written on it (:func:`name_places`)."""
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
                x=points[members, 0], y=points[members, 1], mode="markers", name=plotly_text(value),
                text=[plotly_text(rows[i].title) for i in members], hovertemplate="%{text}<extra>" + plotly_text(value) + "</extra>",
                marker={"size": 6, "opacity": 0.8, "color": colors.get(value, MAP_OTHER_COLOR)},
            )
        )
    figure.update_layout(title=f"CLaMP 3 map, coloured by {plotly_text(color_by or 'modality')}", template="plotly_white")
    name_places(figure, places)
    return figure


def _map_value(row: LibraryItem, color_by: str | None) -> str:
    return str(row.metadata.get(color_by, row.to_dict().get(color_by, ""))) if color_by else row.modality


def write_map(
    points: np.ndarray, rows: list[LibraryItem], color_by: str | None, out: str | Path, places: Sequence[tuple[float, float, str]] = (),
) -> None:
    """An interactive plotly HTML (:func:`map_figure`, ``places`` named on it) or a CSV, by the
    extension of ``out``; a ``cluster`` field of the rows (``clamp3.clusters.with_clusters``) is a
    column of the CSV."""
    import csv

    out = Path(out)
    if out.suffix.lower() == ".csv":
        with open(out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            clustered = bool(rows) and "cluster" in rows[0].metadata and color_by != "cluster"
            writer.writerow(["id", "x", "y", "title", "modality", "path", color_by or "modality"] + (["cluster"] if clustered else []))
            for (x, y), row in zip(points, rows):
                writer.writerow([row.id, f"{x:.5f}", f"{y:.5f}", row.title, row.modality, row.path, _map_value(row, color_by)]
                                + ([row.metadata["cluster"]] if clustered else []))
        return
    map_figure(points, rows, color_by, places).write_html(out, include_plotlyjs=True)
