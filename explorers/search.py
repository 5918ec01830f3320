"""Search tab: a text in any language or a dropped file as the query; results from the shared
library and the visitor's own (marked "yours") in one ranking, filtered by modality, metadata and
a keyword, 25 a page, each row playable with its score shown in the row; a line that says when
nothing in the library is close; the list as CSV and JSON; a link (``?q=...&modality=...``) that
restores the search."""

from __future__ import annotations

import atexit
import csv
import html
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from clamp3.errors import Clamp3Error
from clamp3.library import SET_PREFIX, SET_VALUE
from clamp3.library.fit import FitCalibration, calibrate_fit
from clamp3.library.rows import passage_label, passage_of
from clamp3.metadata import shown_metadata
from clamp3.retrieval import steer
from explorers.common import file_input, preview, session_of, shown_errors
from explorers.context import Context, Found

SEARCH_CONCURRENCY = 12
MODALITIES = {"all": None, "scores and MIDI": "symbolic", "audio": "audio"}
# none of HIDDEN_FIELDS; a recording's instrument and tempo: how the demo library's audio was rendered
SHOWN_FIELDS = ("region", "province", "tune_type", "composer", "era", "function", "metre", "key", "instrument", "tempo")
ANY = "(any)"
PAGE_SIZE = 25
MAX_RESULTS = 500
MAX_QUERY_CHARACTERS = 500  # a text query from a link: longer is cut (the text encoder reads 128 tokens anyway)
MAX_LIKE = 20  # items of one "more like" query
BY_TEXT, BY_FILE = "text", "file"
EXPORT_FIELDS = ("rank", "score", "id", "title", "passage", "modality", "library", "file", "metadata")


def _modality(name: str | None) -> str | None:
    return MODALITIES.get(name, name if name in ("symbolic", "audio") else None)


@dataclass(frozen=True)
class Answer:
    """What one search shows: its hits, what the query was (``by`` text or file, and which), and,
    for a text that nothing in the library fits, the line that says so."""

    hits: list[Found]
    by: str
    query: str
    no_fit: str | None = None
    searched: str = ""  # while the model's space is filled: "searched 3,120 of 12,814 items (...)"
    model: str = ""  # the model that answered, and its space where it is one ("saas, space 1f0e...")


# --- whether anything fits: calibrated once per library version, in the background ------------------
_fits: dict[tuple[str, int], FitCalibration] = {}
_fits_lock = threading.Lock()
_fits_running: set[tuple[str, int]] = set()
FIT_THREAD = "clamp3-fit"
FIT_EXIT_WAIT = 60.0  # seconds the app's exit waits for a fit still encoding


@atexit.register
def wait_for_fits(timeout: float = FIT_EXIT_WAIT) -> None:
    """Let a fit still going end before the interpreter does: a daemon thread left inside the
    model's native code when Python finalises aborts the process (a SIGTERM in the app's first
    seconds ended it with SIGABRT, not 0)."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name == FIT_THREAD:
            thread.join(max(0.0, deadline - time.monotonic()))


def fit_calibration(context: Context, wait: bool = False) -> FitCalibration | None:
    """The shared library's fit calibration (:func:`clamp3.library.fit.calibrate_fit`); without
    ``wait``, None while it is being made (in a thread of its own, started here)."""
    library = context.library
    key = (str(context.index), library.version)
    with _fits_lock:
        if key in _fits:
            return _fits[key]
        running = key in _fits_running
        if not running:
            _fits_running.add(key)
    if running and not wait:
        return None

    def make() -> FitCalibration | None:
        calibration = None
        try:
            calibration = calibrate_fit(library, context.encode_texts)
        except Clamp3Error:  # an empty library: no calibration, no line
            pass
        finally:  # whatever happened, a later query may try again
            with _fits_lock:
                if calibration is not None:
                    _fits[key] = calibration
                _fits_running.discard(key)
        return calibration

    if wait:  # (where another thread makes it too, made here as well rather than polled for)
        return make()
    threading.Thread(target=make, name=FIT_THREAD, daemon=True).start()
    return None


@dataclass(frozen=True)
class Steer:
    """What steers a query (issue 20): more like the shared library's items ``like`` (ids), plus a
    text, minus a text, each with a weight; the query itself weighs ``weight``."""

    like: tuple[int, ...] = ()
    plus: str = ""
    minus: str = ""
    weight: float = 1.0
    like_weight: float = 1.0
    plus_weight: float = 0.5
    minus_weight: float = 0.5

    @classmethod
    def of(cls, like: str = "", plus: str = "", minus: str = "", *weights: float) -> Steer:
        """From the page's boxes: ids separated by commas or spaces, texts cut to MAX_QUERY_CHARACTERS."""
        ids = []
        for word in (like or "").replace(",", " ").split()[:MAX_LIKE]:
            if not re.fullmatch(r"[0-9]{1,18}", word):
                raise Clamp3Error(f"more like: '{word[:20]}' is not an item's id (a whole number)")
            ids.append(int(word))
        return cls(tuple(ids), (plus or "").strip()[:MAX_QUERY_CHARACTERS], (minus or "").strip()[:MAX_QUERY_CHARACTERS],
                   *(float(w) for w in weights))

    def __bool__(self) -> bool:
        return bool(self.like or self.plus or self.minus)

    def vector(self, context: Context, query: np.ndarray | None) -> np.ndarray:
        """(1, D): the weighted sum of the query (if any) and the parts (``retrieval.steer``)."""
        parts = [(query, self.weight)] if query is not None else []
        parts += [(context.item_vector(i), self.like_weight) for i in self.like]
        parts += [(context.encode_text(self.plus), self.plus_weight)] if self.plus else []
        parts += [(context.encode_text(self.minus), -self.minus_weight)] if self.minus else []
        try:
            return steer([v for v, _ in parts], [w for _, w in parts])
        except ValueError as exc:
            raise Clamp3Error(str(exc)) from None


def search(
    context: Context, text: str, file: str | None, k: int = 10, modality: str = "all",
    field: str | None = None, value: str | None = None, session: str | None = None,
    keyword: str | None = None, by: str | None = None, wait_for_fit: bool = False, steering: Steer = Steer(),
    within: str | None = None, passages: bool = False,
) -> Answer:
    """The handler behind the tab and the ``/search`` endpoint. ``by`` says which query is used
    (the tab's "search by", set by the input changed last); without it a file wins over a text.
    The shared library and ``session``'s own are searched together; "all" modalities fairly.
    ``steering`` adds items and texts to the query, or stands for it when there is none."""
    k = max(1, min(MAX_RESULTS, int(k)))
    text = (text or "").strip()[:MAX_QUERY_CHARACTERS]
    by = by if by in (BY_TEXT, BY_FILE) else (BY_FILE if file else BY_TEXT)
    if by == BY_FILE and not file:
        raise Clamp3Error("search by file: drop a file first (or search by text)")
    if by == BY_TEXT and not text and not steering:
        raise Clamp3Error("type a query or drop a file")
    if by == BY_FILE:
        vector, query = context.encode_file(file), Path(file).name
    elif text:
        vector, query = context.encode_text(text), text
    else:
        vector, query = None, ""
    if steering:
        vector = steering.vector(context, vector)
        query = " ".join(filter(None, [query, *(f"like #{i}" for i in steering.like),
                                       f"+ {steering.plus}" if steering.plus else "", f"- {steering.minus}" if steering.minus else ""]))
    where = {field: value} if field and field != ANY and value and value != ANY else None
    chosen = _modality(modality)
    within = within if within and within != ANY else None
    if passages:
        hits = context.search_passages(vector, k, chosen, where, keyword, session, within)
    else:
        hits = context.search(vector, k, chosen, where, session, keyword=keyword, mixed=chosen is None, within=within)
    no_fit, searched = None, context.coverage_line()
    # the calibration is of unfiltered text queries, on a library as a whole (not one being filled)
    if by == BY_TEXT and text and not steering and not passages and hits and not where and not keyword and not within \
            and not context.filling():
        calibration = fit_calibration(context, wait=wait_for_fit)
        no_fit = calibration.verdict(max(h.score for h in hits)) if calibration else None
    return Answer(hits, by, query, no_fit, searched, context.answered_by())


def found_of(hit: dict) -> Found:
    """A result kept in the page's state (``Found.to_dict``) as a Found again."""
    fields = {k: v for k, v in hit.items() if k != "key"}
    if isinstance(fields.get("passage"), dict):
        fields["passage"], fields["passage_unit"] = passage_of(fields["passage"])
    return Found(**fields)


def _details(hit: Found) -> str:
    return ", ".join(f"{key}: {hit.metadata[key]}" for key in SHOWN_FIELDS if hit.metadata.get(key))


def bars_of(hit: Found) -> str:
    """`` (bars 17-24)`` or `` (1:12-1:27)`` for a passage search's hit, as HTML; empty otherwise."""
    if not hit.passage:
        return ""
    return f" <span class='clamp3-note clamp3-bars'>({html.escape(hit.passage_label)})</span>"


def results_html(hits: list[Found], page: int = 0, opened: int | None = None, shown: str = "") -> str:
    """One page of results as an HTML table, every value from the library escaped; each row has a
    play button (``data-row``: its position in ``hits``, sent by PLAY_SCRIPT), and the row
    ``opened`` is followed by ``shown``, its engraved score."""
    if not hits:
        return "<p class='clamp3-note'>no item of the library matches these filters</p>"
    rows = []
    start = page * PAGE_SIZE
    for position, hit in enumerate(hits[start : start + PAGE_SIZE], start):
        play = (f"<button class='clamp3-play' title='play and show' aria-label='play {hit.rank}' "
                f"data-row='{position}'>&#9654;</button>"
                f"<button class='clamp3-play' title='more like this' aria-label='more like {hit.rank}' "
                f"data-like='{position}'>&#8776;</button>")
        rows.append(
            f"<tr><td>{play}</td><td>{hit.rank}</td><td>{hit.score:.3f}</td><td>{html.escape(hit.title)}{bars_of(hit)}</td>"
            f"<td>{'yours' if hit.own else ''}</td><td>{html.escape(hit.modality)}</td><td>{html.escape(_details(hit))}</td>"
            f"<td>{html.escape(Path(hit.path).name)}</td><td>{hit.id}</td></tr>"
        )
        if position == opened:
            rows.append(f"<tr class='clamp3-opened'><td colspan='9'>{shown}</td></tr>")
    head = ("<tr><th></th><th>#</th><th>score</th><th>title</th><th>library</th><th>modality</th><th>metadata</th>"
            "<th>file</th><th>id</th></tr>")
    return f"<div class='clamp3-scroll'><table class='clamp3-results'>{head}{''.join(rows)}</table></div>"


# The play buttons reach the server as a click event of the results box carrying the row: one
# listener on the box (its table is replaced by every search and page), not inline handlers, which
# HTML sanitizers strip.
PLAY_SCRIPT = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-row]');
  if (button) trigger('click', {row: Number(button.dataset.row)});
  const like = event.target.closest('button[data-like]');
  if (like) trigger('click', {like: Number(like.dataset.like)});
});
"""


def page_line(count: int, page: int) -> str:
    if not count:
        return ""
    first, last = page * PAGE_SIZE + 1, min(count, (page + 1) * PAGE_SIZE)
    return f"results {first}-{last} of {count}"


def status_line(answer: Answer, link: str) -> str:
    query = answer.query if len(answer.query) <= 80 else answer.query[:77] + "..."
    answered = f" by model <code>{html.escape(answer.model)}</code>" if answer.model else ""
    lines = [f"searched by {answer.by}: <b>{html.escape(query)}</b>, {len(answer.hits)} results{answered}"]
    if answer.searched:
        lines.append(f"<span class='clamp3-note' id='search-coverage'>{html.escape(answer.searched)}</span>")
    if answer.no_fit:
        lines.append(f"<span class='clamp3-note' id='search-no-fit'>{html.escape(answer.no_fit)}</span>")
    if link:
        lines.append(f"<a href='{html.escape(link, quote=True)}' id='search-link'>link to this search</a>")
    return "<br>".join(lines)


def search_link(text: str, modality: str, k: int, keyword: str) -> str:
    """The query string that restores a text search (a file cannot travel in a link)."""
    params = {"q": text.strip()[:MAX_QUERY_CHARACTERS], "modality": modality if modality in MODALITIES else "all"}
    if int(k) != 10:
        params["k"] = str(int(k))
    if keyword and keyword.strip():
        params["keyword"] = keyword.strip()
    return "?" + urllib.parse.urlencode(params)


def from_link(params: dict) -> tuple[str, str, int, str]:
    """(text, modality, k, keyword) from a page's query parameters, each checked: anything else
    is dropped, a text is cut to MAX_QUERY_CHARACTERS, k kept within 1..MAX_RESULTS."""
    text = str(params.get("q") or "")[:MAX_QUERY_CHARACTERS]
    modality = params.get("modality") if params.get("modality") in MODALITIES else "all"
    try:
        k = max(1, min(MAX_RESULTS, int(params.get("k") or 10)))
    except ValueError:
        k = 10
    return text, modality, k, str(params.get("keyword") or "")[:100]


def export(hits: list[dict], folder: Path) -> list[str]:
    """The result list as ``results.csv`` and ``results.json`` in ``folder`` (the session's own):
    file names only, no server folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"rank": h["rank"], "score": round(h["score"], 4), "id": h["id"], "title": h["title"],
             "passage": passage_label(*passage_of(h.get("passage"))), "modality": h["modality"],
             "library": "yours" if h.get("own") else "shared", "file": Path(h["path"]).name,
             "metadata": shown_metadata(h["metadata"])} for h in hits]
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, EXPORT_FIELDS)
        writer.writeheader()
        writer.writerows({**row, "metadata": json.dumps(row["metadata"], ensure_ascii=False)} for row in rows)
    (folder / "results.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return [str(folder / "results.csv"), str(folder / "results.json")]


def build(context: Context, app: gr.Blocks | None = None) -> None:
    fields = [ANY] + context.fields()
    with gr.Row():
        text = gr.Textbox(label="Query (any language)", placeholder="Chinesisches Volkslied aus Shanxi", scale=4)
        k = gr.Slider(1, MAX_RESULTS, value=10, step=1, label="results", scale=1)
        modality = gr.Dropdown(list(MODALITIES), value="all", label="modality", scale=1)
    with gr.Row():
        file = file_input(label="...or drop a file (audio, MIDI, MusicXML, ABC, text)", scale=3)
        with gr.Column(scale=2):
            by = gr.Radio([BY_TEXT, BY_FILE], value=BY_TEXT, label="search by (the input changed last)", elem_id="search-by")
            keyword = gr.Textbox(label="title or metadata contains", max_length=100)
            field = gr.Dropdown(fields, value=ANY, label="only items whose field", elem_id="search-field")
            value = gr.Dropdown([ANY], value=ANY, label="has the value", allow_custom_value=True, elem_id="search-value")
            within = gr.Dropdown([ANY], value=ANY, label="only the items of a selection saved on the map", elem_id="search-within")
            passages = gr.Checkbox(False, label="find passages: rank items by their best bars or seconds (where the library has them)",
                                   elem_id="search-passages")
    with gr.Accordion("Steer the query: more like items, plus and minus a text", open=False):
        with gr.Row():
            like = gr.Textbox(label="more like the items (ids, as in a result's ≈ or the list's download)", elem_id="steer-like", scale=2)
            like_weight = gr.Slider(0, 5, value=1.0, step=0.05, label="their weight", scale=1)
            weight = gr.Slider(0, 5, value=1.0, step=0.05, label="the query's weight", scale=1)
        with gr.Row():
            plus = gr.Textbox(label="plus (a text)", placeholder="in a minor key", elem_id="steer-plus", max_length=MAX_QUERY_CHARACTERS, scale=2)
            plus_weight = gr.Slider(0, 5, value=0.5, step=0.05, label="its weight", scale=1)
            minus = gr.Textbox(label="minus (a text)", placeholder="a dance", elem_id="steer-minus", max_length=MAX_QUERY_CHARACTERS, scale=2)
            minus_weight = gr.Slider(0, 5, value=0.5, step=0.05, label="its weight", scale=1)
    steer_inputs = [like, plus, minus, weight, like_weight, plus_weight, minus_weight]
    button = gr.Button("Search", variant="primary")
    status = gr.HTML(elem_id="search-status")
    output = gr.HTML(elem_id="search-results", js_on_load=PLAY_SCRIPT)
    with gr.Row():
        previous = gr.Button("previous page", size="sm")
        page_label = gr.Markdown(elem_id="search-page")
        following = gr.Button("next page", size="sm")
        download = gr.Button("Download the list (CSV, JSON)", size="sm")
    files = gr.File(label="result list", file_count="multiple", visible=False, interactive=False)
    hits_state, page_state = gr.State([]), gr.State(0)
    audio = gr.Audio(label="listen", type="numpy", interactive=False)

    def found(hits: list[dict]) -> list[Found]:
        return [found_of(h) for h in hits]

    @shown_errors
    def api_search(text: str, file: str | None, k: int, modality: str, request: gr.Request) -> str:
        answer = search(context, text, file, k, modality, session=session_of(request))
        covered = f"<p class='clamp3-note'>{html.escape(answer.searched)}</p>" if answer.searched else ""
        return covered + results_html(answer.hits)

    def clear():
        return "", "", [], 0, "", None, gr.update(value=None, visible=False)

    @shown_errors
    def run(text, file, k, modality, field, value, keyword, by, like, plus, minus, weight, like_weight, plus_weight,
            minus_weight, within, passages, request: gr.Request):
        steering = Steer.of(like, plus, minus, weight, like_weight, plus_weight, minus_weight)
        answer = search(context, text, file, k, modality, field, value, session_of(request), keyword, by, steering=steering,
                        within=within, passages=bool(passages))
        link = search_link(text, modality, k, keyword) if answer.by == BY_TEXT and text and not steering else ""
        return (status_line(answer, link), results_html(answer.hits), [h.to_dict() for h in answer.hits], 0,
                page_line(len(answer.hits), 0))

    def turn(hits: list[dict], page: int, step: int):
        last = max(0, (len(hits) - 1) // PAGE_SIZE)
        page = max(0, min(last, int(page) + step))
        return results_html(found(hits), page), page, page_line(len(hits), page)

    @shown_errors
    def show(hits: list[dict], k, modality, field, value, keyword, event: gr.EventData, request: gr.Request):
        """A row's play button (its score in the row, its sound in the player) or its "more like this"
        (a search with its vector, under the same filters), both sent by PLAY_SCRIPT."""
        data = event._data if isinstance(event._data, dict) else {}
        position = data.get("row", data.get("like"))
        unchanged = (gr.update(),) * 5  # the results, the status line, the hits, the page, its label
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < len(hits):
            return (None, *unchanged)
        hit = hits[position]
        if "like" in data:
            where = {field: value} if field and field != ANY and value and value != ANY else None
            session = session_of(request)
            vector = context.item_vector(hit["id"], bool(hit.get("own")), session)
            chosen = _modality(modality)
            liked = context.search(vector, max(1, min(MAX_RESULTS, int(k))), chosen, where, session, keyword=keyword,
                                   mixed=chosen is None)
            answer = Answer(liked, "item", f"more like {hit['title']}", searched=context.coverage_line(), model=context.answered_by())
            return (None, results_html(liked), status_line(answer, ""), [h.to_dict() for h in liked], 0,
                    page_line(len(liked), 0))
        chosen = found_of(hit)
        sound, shown = preview(hit["path"], hit["name"], chosen.passage, chosen.passage_unit)
        return (sound, results_html(found(hits), position // PAGE_SIZE, position, shown), *unchanged[1:])

    @shown_errors
    def run_download(hits: list[dict], request: gr.Request):
        if not hits:
            raise Clamp3Error("search first: there is no result list to download")
        return gr.update(value=export(hits, context.export_folder(session_of(request))), visible=True)

    def values_of(field: str | None):
        field = field if isinstance(field, str) else ANY  # (a cleared dropdown sends None)
        if field.startswith(SET_PREFIX):  # a set, the library's or the session's: its members have "yes"
            return gr.update(choices=[ANY, SET_VALUE], value=SET_VALUE)
        return gr.update(choices=[ANY] + context.field_values(field) if field != ANY else [ANY], value=ANY)

    # The named endpoint keeps its four inputs for gradio_client scripts; the page adds filters.
    api = gr.Button(visible=False)
    # More searches than the queue's default run at once: a search's own work is short and under the
    # model lock, and one with a slow upload waits for a reader's process, not in a queue slot that
    # text searches need.
    api.click(api_search, [text, file, k, modality], output, api_name="search", concurrency_limit=SEARCH_CONCURRENCY,
              concurrency_id="search")
    shown_state = [status, output, hits_state, page_state, page_label, audio, files]
    searched = [status, output, hits_state, page_state, page_label]
    inputs = [text, file, k, modality, field, value, keyword, by, *steer_inputs, within, passages]
    for trigger in (button.click, text.submit, keyword.submit):
        # cleared first: an error leaves no earlier results under it
        trigger(clear, None, shown_state, api_name=False, queue=False).then(
            run, inputs, searched, api_name=False, concurrency_limit=SEARCH_CONCURRENCY, concurrency_id="search")
    # "search by" follows the input changed last, set in the browser: a round trip to the server
    # could come back after an Enter pressed at once. A text's change (typed, pasted or filled in)
    # picks text; one emptied falls back to a file still there.
    text.change(None, [text, file], by, js=f"(text, file) => text.trim() || !file ? '{BY_TEXT}' : '{BY_FILE}'")
    file.upload(None, None, by, js=f"() => '{BY_FILE}'")
    file.clear(None, None, by, js=f"() => '{BY_TEXT}'")
    previous.click(lambda h, p: turn(h, p, -1), [hits_state, page_state], [output, page_state, page_label], api_name=False)
    following.click(lambda h, p: turn(h, p, 1), [hits_state, page_state], [output, page_state, page_label], api_name=False)
    download.click(run_download, hits_state, files, api_name=False)
    field.change(values_of, field, value, api_name=False)

    def saved_sets(request: gr.Request):
        return gr.update(choices=[ANY] + context.saved_names(session_of(request)))

    within.focus(saved_sets, None, within, api_name=False, queue=False)
    def filter_fields(request: gr.Request):
        return gr.update(choices=[ANY] + context.fields(session_of(request)))

    # fields written since the page was built (a classification written into the library, a selection saved
    # on the map: the library's sets and the session's own) are offered too
    field.focus(filter_fields, None, field, api_name=False, queue=False)
    output.click(show, [hits_state, k, modality, field, value, keyword], [audio, output, status, hits_state, page_state, page_label],
                 api_name=False)

    if app is not None:
        def restore(request: gr.Request):
            """A link's search, run when the page opens with ``?q=...``."""
            params = dict(getattr(request, "query_params", None) or {})
            text_, modality_, k_, keyword_ = from_link(params)
            if not text_.strip():  # nothing is touched: a search typed before the page finished loading stays
                return (gr.skip(),) * 9
            try:
                filled = run.__wrapped__(text_, None, k_, modality_, ANY, ANY, keyword_, BY_TEXT, "", "", "", 1.0, 1.0, 0.5, 0.5,
                                         ANY, False, request)
            except Clamp3Error as exc:
                filled = (html.escape(str(exc)), "", [], 0, "")
            return (text_, modality_, k_, keyword_, *filled)

        app.load(restore, None, [text, modality, k, keyword, *searched], api_name=False)
    fit_calibration(context)  # made in the background, ready before most visitors' first search
