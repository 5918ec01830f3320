"""Map tab: the UMAP map of the library coloured by any metadata field, titles on hover, a point
clicked played and its score shown, a text or a file pinned onto it as a star, the visitor's own
items placed on it, and a selection (of the shared library) exported as CSV. A box or lasso
selection is classified, compared, downloaded, and saved as a named set: the field ``set:NAME`` =
yes, in the library where the page may change it, else the session's (the map colours, the CSV
export and the Search tab filter by either alike).

The map is computed in the background once per library version (``context.maps``); while a new
one is computed, a draw shows the last ready map and a line saying so."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import secrets
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from clamp3.analysis import MAP_OTHER_COLOR, map_colors, name_places, plotly_text
from clamp3.clusters import (
    DEFAULT_CLUSTERS,
    DEFAULT_VOCABULARY,
    MAX_CLUSTERS,
    Clusters,
    cluster_places,
    label_clusters,
    parse_vocabulary,
    with_clusters,
)
from clamp3.errors import Clamp3Error
from clamp3.library import SET_PREFIX, SET_VALUE, LibraryItem, set_field
from clamp3.library.maps import MapView, place_on_map
from clamp3.metadata import shown_metadata
from clamp3.retrieval import exact_top_k, normalize
from explorers.common import TRACK_TQDM, file_input, preview, session_of, shown_errors, table_html
from explorers.compare import compare_vectors, result_table
from explorers.context import Context, is_item_id

EXPORTS_KEPT_SECONDS = 3600  # an export older than this is removed when the next one is written


def color_values(rows: list[LibraryItem], field: str) -> list[str]:
    if field in ("modality", "title"):
        return [str(getattr(r, field)) for r in rows]
    return [str(r.metadata.get(field, "(none)")) for r in rows]


def figure(
    rows: list[LibraryItem], points: np.ndarray, field: str, pins: list[tuple[str, np.ndarray, np.ndarray]] = (),
    own: tuple[list[str], np.ndarray] = ([], np.zeros((0, 2))), places: list[tuple[float, float, str]] = (),
) -> go.Figure:
    values = color_values(rows, field)
    # the most common values get a colour each, the one `clamp3 map` gives them; the rest share "other"
    colors = map_colors(values)
    drawn = drawn_rows(len(rows))
    kept = set(colors)
    values = [v if v in kept else "other" for v in values]
    fig = go.Figure()
    counts = Counter(values)
    by_value: dict[str, list[int]] = {}
    for i in drawn:
        by_value.setdefault(values[i], []).append(i)
    for value in sorted(counts, key=lambda v: -counts[v]):
        members = by_value.get(value, [])
        fig.add_trace(go.Scattergl(
            x=points[members, 0], y=points[members, 1], mode="markers", name=f"{plotly_text(value)} ({counts[value]})",
            # plotly renders a small set of HTML tags in legend names and hover text: values are escaped first.
            text=[plotly_text(rows[i].title) for i in members], customdata=[rows[i].id for i in members],
            hovertemplate="%{text}<extra>" + plotly_text(value) + "</extra>",
            marker={"size": 5, "opacity": 0.75, "color": colors.get(value, MAP_OTHER_COLOR)},
        ))
    titles, placed = own
    if len(titles):
        fig.add_trace(go.Scatter(
            x=placed[:, 0], y=placed[:, 1], mode="markers", name=f"yours ({len(titles)})", text=[plotly_text(t) for t in titles],
            hovertemplate="%{text}<extra>yours</extra>", marker={"symbol": "diamond", "size": 10, "color": "black"},
        ))
    for label, xy, nearest in pins:
        if len(nearest):  # the query's best matches, ringed (clickable as any point)
            fig.add_trace(go.Scattergl(
                x=points[nearest, 0], y=points[nearest, 1], mode="markers", name=f"top {len(nearest)}: {plotly_text(label[:40])}",
                text=[plotly_text(rows[i].title) for i in nearest], customdata=[rows[i].id for i in nearest],
                hovertemplate="%{text}<extra>top " + str(len(nearest)) + "</extra>",
                marker={"symbol": "circle-open", "size": 14, "color": "black", "line": {"width": 2}},
            ))
        fig.add_trace(go.Scatter(
            x=[float(xy[0])], y=[float(xy[1])], mode="markers+text", name=f"query: {plotly_text(label[:40])}", text=[plotly_text(label[:40])],
            textposition="top center", marker={"symbol": "star", "size": 22, "color": "black", "line": {"width": 1, "color": "gold"}},
        ))
    name_places(fig, places)
    sampled = f" ({len(drawn):,} drawn, a sample)" if len(drawn) < len(rows) else ""
    fig.update_layout(template="plotly_white", height=640, legend={"itemsizing": "constant"},
                      title=f"{len(rows):,} items{sampled}, coloured by {plotly_text(field)}", margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


MAX_DRAWN = 50_000  # points a map draws; a larger library is drawn from a sample (benchmarks/map_browser.py)


def drawn_rows(count: int, limit: int | None = None) -> np.ndarray:
    """The rows a map of ``count`` items draws: all, or above ``limit`` (MAX_DRAWN) a seeded sample
    of that many, in row order. Selections and exports cover every item, drawn or not."""
    limit = MAX_DRAWN if limit is None else limit
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(0).choice(count, limit, replace=False))


MAX_LASSO_CORNERS = 1000


def inside(points: np.ndarray, shape: dict) -> np.ndarray:
    """(N,) whether each map point lies in a box (``{"box": {"x": [x0, x1], "y": [y0, y1]}}``) or a
    lasso (``{"lasso": {"x": [...], "y": [...]}}``, even-odd rule), as plotly's selection events give
    them. The shape comes from the page: at most MAX_LASSO_CORNERS finite corners; only the points in
    the lasso's bounding box are tested, in blocks (a lasso of 1,000 corners over 200,000 points)."""
    if "box" in shape:
        (x0, x1), (y0, y1) = sorted(map(float, shape["box"]["x"][:2])), sorted(map(float, shape["box"]["y"][:2]))
        if not np.isfinite([x0, x1, y0, y1]).all():
            raise ValueError("a box of numbers")
        return (x0 <= points[:, 0]) & (points[:, 0] <= x1) & (y0 <= points[:, 1]) & (points[:, 1] <= y1)
    xs, ys = np.asarray(shape["lasso"]["x"], np.float64), np.asarray(shape["lasso"]["y"], np.float64)
    if xs.ndim != 1 or ys.shape != xs.shape or not 3 <= len(xs) <= MAX_LASSO_CORNERS or not np.isfinite([xs, ys]).all():
        raise Clamp3Error(f"a lasso has 3 to {MAX_LASSO_CORNERS:,} corners")
    result = np.zeros(len(points), bool)
    near = np.flatnonzero((points[:, 0] >= xs.min()) & (points[:, 0] <= xs.max()) & (points[:, 1] >= ys.min()) & (points[:, 1] <= ys.max()))
    x0, y0, x1, y1 = xs, ys, np.roll(xs, -1), np.roll(ys, -1)
    slope = (x1 - x0) / np.where(y1 == y0, 1e-12, y1 - y0)
    block = max(1, 2_000_000 // len(xs))
    for start in range(0, len(near), block):
        rows = near[start : start + block]
        px, py = points[rows, 0:1].astype(np.float64), points[rows, 1:2].astype(np.float64)
        crosses = ((y0 > py) != (y1 > py)) & (px < slope * (py - y0) + x0)
        result[rows] = (crosses.sum(axis=1) % 2) == 1
    return result


def pin(
    context: Context, rows: list[LibraryItem], points: np.ndarray, text: str, file: str | None, top: int = 0,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """A text and/or a file as positions on the map (:func:`place_on_map`: among their nearest items'
    points), each with the rows of its ``top`` nearest items (highlighted on the map)."""
    queries = []
    if text and text.strip():
        queries.append((text.strip(), context.encode_text(text.strip())))
    if file:
        queries.append((Path(file).name, context.encode_file(file)))
    if not queries:
        return []
    with context.lock:
        vectors = context.library.vectors_of([r.id for r in rows])
    pinned = []
    for label, vector in queries:
        nearest = exact_top_k(vectors, normalize(vector), int(top))[1][0] if top else np.zeros(0, np.int64)
        pinned.append((label, place_on_map(vector, vectors, points)[0], nearest))
    return pinned


def own_items(context: Context, session: str, rows: list[LibraryItem], points: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The titles of the visitor's own items and their (N, 2) places on the shared map, found as a
    pinned query's are (their own items take no part in the map's UMAP)."""
    with context.lock:
        own = context.session_library(session)
        items = own.items() if own is not None else []
        if not items:
            return [], np.zeros((0, 2), dtype=np.float32)
        vectors = own.vectors_of([r.id for r in items])
        shared = context.library.vectors_of([r.id for r in rows])
    return [r.title for r in items], place_on_map(vectors, shared, points)


def with_sets(rows: list[LibraryItem], sets: dict[str, list[int]]) -> list[LibraryItem]:
    """``rows`` with a session's saved selections (field ``set:NAME`` -> ids, ``Context.session_sets``)
    as fields of their members, ``set:NAME`` = yes, as the library's own sets are: a map colours and
    exports by either alike. The shared rows are not changed."""
    members = {key: set(ids) for key, ids in sets.items()}
    if not members:
        return rows
    tagged = []
    for row in rows:
        joined = {key: SET_VALUE for key, held in members.items() if row.id in held}
        tagged.append(dataclasses.replace(row, metadata={**row.metadata, **joined}) if joined else row)
    return tagged


def selection_box(x0: str | None, x1: str | None, y0: str | None, y1: str | None) -> tuple[float, float, float, float] | None:
    """The x/y box of an export from the four range boxes: an empty one is unbounded (the boxes were
    numbers whose empty value showed and was read as 0, so the default box was 0..0 and every export
    with the defaults was empty); None when all four are empty."""
    bounds = []
    for name, text, unbounded in (("x from", x0, -np.inf), ("x to", x1, np.inf), ("y from", y0, -np.inf), ("y to", y1, np.inf)):
        text = "" if text is None else str(text).strip()
        try:
            bound = float(text) if text else unbounded
        except ValueError:
            bound = np.nan
        if np.isnan(bound):
            raise Clamp3Error(f"'{text[:40]}' in '{name}' is not a number (leave it empty for no bound)")
        bounds.append(bound)
    return None if all(np.isinf(b) for b in bounds) else tuple(bounds)


def select(rows: list[LibraryItem], points: np.ndarray, field: str, values: list[str], box: tuple[float, float, float, float] | None) -> list[int]:
    """Indices of the items whose colour value is one of ``values`` (all when none) inside the box."""
    chosen = set(values or [])
    colors = color_values(rows, field)
    keep = []
    for i, (x, y) in enumerate(points):
        if chosen and colors[i] not in chosen:
            continue
        if box is not None and not (box[0] <= x <= box[1] and box[2] <= y <= box[3]):
            continue
        keep.append(i)
    return keep


def export_csv(context: Context, rows: list[LibraryItem], points: np.ndarray, keep: list[int], field: str) -> Path:
    folder = context.home / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    old = time.time() - EXPORTS_KEPT_SECONDS
    for stale in folder.glob("map-selection-*.csv"):  # bounded: exports are there to be downloaded at once
        if stale.stat().st_mtime < old:
            stale.unlink(missing_ok=True)
    # a name no one can guess: the exports folder is served to whoever has a file's name
    out = folder / f"map-selection-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(8)}-{len(keep)}.csv"
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(selection_table([rows[i] for i in keep], points[keep], first=field))
    tmp.replace(out)
    return out


def selection_table(items: list[LibraryItem], points: np.ndarray | None = None, first: str | None = None) -> list[list]:
    """A selection as the rows of its CSV: id, the map's x and y (with ``points``, (items, 2)), title,
    modality, every shown field of the items (``first``, the colour field, leading), the file's name
    (never a server folder)."""
    fields = sorted({key for item in items for key in shown_metadata(item.metadata)} - {first})
    fields = ([first] if first and first != "modality" else []) + fields
    table = [["id", *(["x", "y"] if points is not None else []), "title", "modality", *fields, "file"]]
    for n, item in enumerate(items):
        metadata = shown_metadata(item.metadata)
        where = [f"{points[n, 0]:.4f}", f"{points[n, 1]:.4f}"] if points is not None else []
        table.append([item.id, *where, item.title, item.modality, *(metadata.get(key, "") for key in fields), Path(item.path).name])
    return table


_clustered: dict[tuple, Clusters] = {}  # (library, version, ids digest, k, vocabulary) -> clusters; the last few kept
_clustered_lock = threading.Lock()
CLUSTERS_KEPT = 8


def clustered(context: Context, rows: list[LibraryItem], k: int, vocabulary: str) -> Clusters:
    """The labelled clusters (:func:`clamp3.clusters.label_clusters`) of the map's items, computed
    once per library version, k and vocabulary (k-means on 12,762 items and the default vocabulary:
    about 6 s on 2 cores)."""
    labels = parse_vocabulary(vocabulary)  # an empty vocabulary is refused before any work
    ids = [r.id for r in rows]
    key = (str(context.library.directory), context.library.version, hash(tuple(ids)), int(k), tuple(labels))
    with _clustered_lock:
        if key in _clustered:
            return _clustered[key]
    with context.lock:
        vectors = context.library.vectors_of(ids)
    found = label_clusters(vectors, context.encode_texts, labels, int(k))
    with _clustered_lock:
        _clustered[key] = found
        while len(_clustered) > CLUSTERS_KEPT:
            _clustered.pop(next(iter(_clustered)))
    return found


def selection(context: Context, raw: object) -> list[int]:
    """The ids of a selection sent by the page, checked: whole numbers, at most MAX_SELECTED, of
    items of the shared library (others dropped: the map may be older than the library)."""
    if not isinstance(raw, list) or len(raw) > MAX_SELECTED or any(not is_item_id(i) for i in raw):
        raise Clamp3Error(f"a selection is a list of at most {MAX_SELECTED:,} item ids")
    wanted = sorted(set(raw))
    kept: list[int] = []
    with context.lock:
        for start in range(0, len(wanted), 10_000):  # (SQLite's limit on a statement's parameters)
            kept += [r.id for r in context.library.items_by_id(wanted[start : start + 10_000])]
    return kept


def shape_ids(context: Context, center: bool, shape: dict) -> list[int]:
    """The ids of every item of the map (centred or not) inside a selection's box or lasso."""
    shown = library_points(context, center)
    try:
        mask = inside(shown.points, shape)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise Clamp3Error("a selection's box or lasso is not one the map makes") from exc
    return [shown.rows[i].id for i in np.flatnonzero(mask)][:MAX_SELECTED]


def selected_rows(context: Context, ids: list[int]) -> list[LibraryItem]:
    if not ids:
        raise Clamp3Error("the selection is empty: select points on the map (the box or lasso of its toolbar)")
    rows: list[LibraryItem] = []
    with context.lock:
        for start in range(0, len(ids), 10_000):
            rows += context.library.items_by_id(ids[start : start + 10_000])
    return rows


def selection_html(rows: list[LibraryItem], shown: int = 50) -> str:
    """How many items are selected, and the first ``shown`` of them."""
    table = table_html(["id", "title", "modality", "metadata"], [
        [r.id, r.title, r.modality, ", ".join(f"{k}: {v}" for k, v in list(shown_metadata(r.metadata).items())[:5])]
        for r in rows[:shown]])
    more = f" (the first {shown} below)" if len(rows) > shown else ""
    return f"<p id='map-selected-count'>{len(rows):,} items selected{more}</p>{table}"


def export_zip(context: Context, rows: list[LibraryItem], session: str) -> Path:
    """The selection's files (for audio features, the score or MIDI of the same work), a playlist
    (``playlist.m3u``, the files in the zip) and its items' metadata (``selection.csv``): in the
    session's download folder. Its size is checked before anything is written."""
    from clamp3.preview import preview_source

    if len(rows) > MAX_EXPORT_FILES:
        raise Clamp3Error(f"{len(rows):,} items selected: a zip holds at most {MAX_EXPORT_FILES:,} (export the CSV instead)")
    sources = []
    for row in rows:
        try:
            sources.append((row, preview_source(row.path)))
        except Clamp3Error:
            continue  # features with nothing to play: in the CSV, not in the zip
    size = sum(source.stat().st_size for _, source in sources if source.is_file())
    if size > MAX_EXPORT_BYTES:
        raise Clamp3Error(f"the selection's files take {size / 2**20:.0f} MB, over the limit of {MAX_EXPORT_BYTES / 2**20:.0f} MB")
    folder = context.export_folder(session)
    folder.mkdir(parents=True, exist_ok=True)
    for earlier in folder.glob("selection-*.zip"):  # one zip a session: the last one asked for
        earlier.unlink(missing_ok=True)
    out = folder / f"selection-{len(rows)}.zip"
    tmp = folder / f".selection-{secrets.token_hex(8)}.part"
    listed: list[tuple[str, str]] = []  # (title, name in the zip) of the files written
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for row, source in sources:
            if not source.is_file():
                continue
            name = f"music/{row.id}-{source.name}"  # the id keeps names apart; no server folder
            archive.write(source, name)
            listed.append((" ".join(row.title.split()), name))  # (a title's line breaks would add playlist lines)
        archive.writestr("playlist.m3u", "#EXTM3U\n" + "".join(f"#EXTINF:-1,{title}\n{name}\n" for title, name in listed))
        lines = io.StringIO()
        csv.writer(lines).writerows(selection_table(rows))
        archive.writestr("selection.csv", lines.getvalue())
    tmp.replace(out)
    return out


def library_points(context: Context, center: bool, waiting=None) -> MapView:
    """The shared library's map: the up-to-date one, or while that is computed the last one ready
    with a status line (see :class:`clamp3.library.maps.BackgroundMaps`); ``waiting(line)`` is told
    what is being done while a first map is awaited."""
    held = context.coverage()
    if held is not None and not held.complete:
        raise Clamp3Error(f"the map is drawn once this model's vectors of the library are computed: {held.items:,} of "
                          f"{held.total:,} so far")
    with context.lock:
        maps = context.maps
    return maps.view(bool(center), waiting=waiting)


# A click on a point of the library reaches the server as a click event of the (empty) box below the
# map, carrying the point's item id (its customdata; a pinned star or the visitor's own items carry
# none); a box or lasso selection (plotly's modebar) as one carrying the selected ids. Plotly's graph
# is made anew by every draw, so each new one is found and listened to.
MAX_SELECTED = 200_000  # ids of one selection sent by the page (a map of 200,000 points selected whole)
MAX_EXPORT_FILES = 2000  # files of one zip of a selection
MAX_COMPARED = 2000  # items of a side of a comparison of selections (a seeded sample beyond)
MAX_EXPORT_BYTES = 50 * 2**20  # and their size, checked before the zip is written (one zip a session is kept)
CLICK_SCRIPT = f"""
const MAX_SELECTED = {MAX_SELECTED};
const listen = () => {{
  const graph = document.querySelector('#map-plot .js-plotly-plot');
  if (!graph || !graph.on || graph.dataset.clamp3Listened) return;
  graph.dataset.clamp3Listened = '1';
  graph.on('plotly_click', (data) => {{
    const point = data && data.points && data.points[0];
    if (point && Number.isInteger(point.customdata)) trigger('click', {{item: point.customdata}});
  }});
  graph.on('plotly_selected', (data) => {{
    const ids = ((data && data.points) || []).map((p) => p.customdata).filter(Number.isInteger);
    const shape = data && (data.range ? {{box: data.range}} : data.lassoPoints ? {{lasso: data.lassoPoints}} : {{}});
    trigger('click', {{selected: ids.slice(0, MAX_SELECTED), ...shape}});
  }});
}};
new MutationObserver(listen).observe(document.body, {{childList: true, subtree: true}});
listen();
"""


def clicked_item(context: Context, item: object) -> tuple[object, str]:
    """(sound, HTML) of the library item a map click named: its title, its fields and its score. The id
    came from the browser: only an integer naming an item of the shared library is looked up."""
    if not is_item_id(item):
        raise Clamp3Error("click a point of the map to play it")
    with context.lock:
        found = context.library.items_by_id([item])
    if not found:
        raise Clamp3Error("that item is no longer in the library: draw the map again")
    row = found[0]
    sound, shown = preview(row.path, row.name)
    fields = ", ".join(f"{key}: {value}" for key, value in shown_metadata(row.metadata).items())
    head = f"<p><b>{html.escape(row.title)}</b> ({html.escape(row.modality)}) {html.escape(fields)}</p>"
    return sound, head + shown


def build(context: Context) -> None:
    fields = ["modality", "cluster"] + context.fields()
    default = "region" if "region" in fields else fields[0]
    with gr.Row():
        field = gr.Dropdown(fields, value=default, label="colour by", scale=1, elem_id="map-colour")
        center = gr.Checkbox(True, label="centre each modality (scores and audio overlay)", scale=1)
        text = gr.Textbox(label="pin a text onto the map", placeholder="a lively Irish jig", scale=2)
        file = file_input(label="...or a file", scale=1)
        top = gr.Slider(0, 100, value=10, step=1, label="ring its best matches", scale=1)
    with gr.Row():
        name_clusters = gr.Checkbox(False, label="name clusters (k-means in the space, named from the vocabulary)",
                                    elem_id="map-clusters", scale=2)
        cluster_count = gr.Slider(2, MAX_CLUSTERS, value=DEFAULT_CLUSTERS, step=1, label="clusters", scale=1)
    with gr.Accordion("Cluster label vocabulary (one label a line, any language)", open=False):
        vocabulary = gr.Textbox(DEFAULT_VOCABULARY, lines=8, label="labels", max_lines=20, max_length=20_000)
    draw = gr.Button("Draw", variant="primary")
    status = gr.Markdown(elem_id="map-status")
    plot = gr.Plot(elem_id="map-plot")
    gr.Markdown("Click a point to play it and show its score; select points with the box or lasso of the map's toolbar "
                "to act on them below.", elem_classes="clamp3-note")
    picked = gr.HTML(elem_id="map-picked", js_on_load=CLICK_SCRIPT)
    sound = gr.Audio(label="listen", type="numpy", interactive=False)
    chosen = gr.State([])  # the ids of the points selected on the map
    with gr.Accordion("The selection: classify, save, compare, export", open=True):
        selected = gr.HTML("<p id='map-selected-count'>no selection yet</p>", elem_id="map-selection")
        with gr.Row():
            set_name = gr.Textbox(label="name of the selection", placeholder="my reels", max_length=40, scale=2)
            save = gr.Button("Save the selection", scale=1)
            saved = gr.Dropdown([], label="a saved selection", scale=2, elem_id="map-saved")
            compare_button = gr.Button("Compare it with the selection", scale=1)
        with gr.Row():
            selection_classes = gr.Textbox("jig\nreel\nhornpipe\nair\nsong", lines=3, label="classes (one a line)", scale=2)
            classify_button = gr.Button("Classify the selection", scale=1)
            zip_button = gr.Button("Download its files (zip with a playlist)", scale=1)
        acted = gr.HTML(elem_id="map-selection-result")
        selection_file = gr.File(label="download", interactive=False, visible=False)
    with gr.Accordion("Export a selection as CSV", open=False):
        values = gr.Dropdown([], multiselect=True, label="values of the colour field (none: all)", allow_custom_value=True)
        with gr.Row():
            x0, x1 = gr.Textbox(label="x from", placeholder="any"), gr.Textbox(label="x to", placeholder="any")
            y0, y1 = gr.Textbox(label="y from", placeholder="any"), gr.Textbox(label="y to", placeholder="any")
        export = gr.Button("Export")
        download = gr.File(label="selection", interactive=False)

    def with_names(rows, points, field, named, k, words) -> tuple[list[LibraryItem], list]:
        """The rows with their cluster in the field "cluster", and where the names go, when clusters
        are named (or the map is coloured by them)."""
        if not (named or field == "cluster"):
            return rows, []
        found = clustered(context, rows, k, words)
        return with_clusters(rows, found), cluster_places(points, found) if named else []

    @shown_errors
    def run(field: str, center: bool, text: str, file: str | None, named: bool, k: int, words: str, top: int,
            request: gr.Request, progress=TRACK_TQDM):
        shown = library_points(context, center, waiting=lambda line: progress(None, desc=line))
        rows, points = with_sets(shown.rows, context.session_sets(session_of(request))), shown.points
        rows, places = with_names(rows, points, field, named, k, words)
        pins = pin(context, rows, points, text, file, max(0, min(100, int(top or 0))))
        own = own_items(context, session_of(request), rows, points)
        choices = sorted(set(color_values(rows, field)))
        return figure(rows, points, field, pins, own, places), gr.update(choices=choices[:1000], value=[]), html.escape(shown.status)

    @shown_errors
    def run_export(field, center, values, x0, x1, y0, y1, named, k, words, request: gr.Request):
        shown = library_points(context, center)
        rows, points = with_sets(shown.rows, context.session_sets(session_of(request))), shown.points
        rows, _ = with_names(rows, points, field, named, k, words)
        keep = select(rows, points, field, values, selection_box(x0, x1, y0, y1))
        if not keep:
            raise Clamp3Error("the selection is empty")
        return str(export_csv(context, rows, points, keep, field))

    @shown_errors
    def play(ids: list[int], center: bool, event: gr.EventData):
        """A point clicked (played) or points selected (listed), both sent by CLICK_SCRIPT. A box or
        lasso selects every item of the map inside it, drawn or not (a large map draws a sample)."""
        data = event._data if isinstance(event._data, dict) else {}
        if "selected" in data:
            shape = {key: data[key] for key in ("box", "lasso") if key in data}
            kept = selection(context, shape_ids(context, center, shape) if shape else data["selected"])
            return gr.update(), gr.update(), kept, selection_html(selected_rows(context, kept)) if kept else "<p>nothing selected</p>"
        return (*clicked_item(context, data.get("item")), ids, gr.update())

    @shown_errors
    def run_save(ids: list[int], name: str, request: gr.Request):
        session = session_of(request)
        size, in_library = context.save_set(session, name, ids)
        key = set_field(name)  # (the name as saved: spaces made single)
        name = key[len(SET_PREFIX):]
        where = "into the library as a named set" if in_library else \
            "for this session only (the shared library is not changed from this page)"
        line = (f"<p id='map-saved-line'>saved '{html.escape(name)}' ({size:,} items) {where}, as the field "
                f"<code>{html.escape(key)}</code> = yes: filter the Search tab by it (that field, or 'only the items of a "
                "selection'), colour this map by it, compare another selection with it here</p>")
        fields = ["modality", "cluster"] + context.fields(session)
        return gr.update(choices=context.saved_names(session), value=name), line, gr.update(choices=fields)

    @shown_errors
    def run_compare(ids: list[int], name: str | None, request: gr.Request):
        if not name:
            raise Clamp3Error("choose a saved selection to compare with")
        reference = context.saved_set(session_of(request), name)
        if len(reference) < 2 or len(ids) < 2:
            raise Clamp3Error("a comparison needs at least 2 items on each side")
        rng = np.random.default_rng(0)  # each side at most MAX_COMPARED items, a seeded sample: a distance of
        sampled = [sorted(rng.choice(side, MAX_COMPARED, replace=False)) if len(side) > MAX_COMPARED else side
                   for side in (reference, ids)]  # 200,000 x 768 vectors would take the server for minutes
        with context.lock:
            a, b = context.library.vectors_of(sampled[0]), context.library.vectors_of(sampled[1])
        note = (f"<p class='clamp3-note'>compared a sample of {MAX_COMPARED:,} items of each side larger than that</p>"
                if max(len(reference), len(ids)) > MAX_COMPARED else "")
        return note + result_table(compare_vectors(a, b), what="items")

    @shown_errors
    def run_classify(ids: list[int], classes_text: str):
        from explorers.classify import classifier, parse_lines, per_item_table

        rows = selected_rows(context, ids)
        with context.lock:
            vectors = context.library.vectors_of([r.id for r in rows])
        prediction = classifier(context, parse_lines(classes_text), ["{}"]).predict(vectors)
        return per_item_table(prediction.classes, prediction.probabilities, [r.title for r in rows])

    @shown_errors
    def run_zip(ids: list[int], request: gr.Request):
        return gr.update(value=str(export_zip(context, selected_rows(context, ids), session_of(request))), visible=True)

    draw.click(run, [field, center, text, file, name_clusters, cluster_count, vocabulary, top], [plot, values, status], api_name="map")
    def colour_fields(request: gr.Request):
        return gr.update(choices=["modality", "cluster"] + context.fields(session_of(request)))

    def saved_selections(request: gr.Request):
        return gr.update(choices=context.saved_names(session_of(request)))

    # fields written since the page was built (a classification written into the library, a set saved) are offered too
    field.focus(colour_fields, None, field, api_name=False, queue=False)
    saved.focus(saved_selections, None, saved, api_name=False, queue=False)  # the library's sets too, made since (the CLI)
    picked.click(play, [chosen, center], [sound, picked, chosen, selected], api_name=False)
    save.click(run_save, [chosen, set_name], [saved, acted, field], api_name=False)
    compare_button.click(run_compare, [chosen, saved], acted, api_name=False)
    classify_button.click(run_classify, [chosen, selection_classes], acted, api_name=False)
    zip_button.click(run_zip, chosen, selection_file, api_name=False)
    export.click(run_export, [field, center, values, x0, x1, y0, y1, name_clusters, cluster_count, vocabulary], download, api_name=False)
