"""Search tab: a text in any language or a dropped file as the query; results from the shared
library and the visitor's own (marked "yours") in one ranking, filtered by modality and metadata,
each one playable and shown as engraved sheet music."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from clamp3.errors import Clamp3Error
from explorers.common import file_input, preview, session_of, shown_errors
from explorers.context import Context, Found

SEARCH_CONCURRENCY = 12
MODALITIES = {"all": None, "scores and MIDI": "symbolic", "audio": "audio"}
SHOWN_FIELDS = ("region", "province", "tune_type", "composer", "era", "function", "metre", "key")  # none of HIDDEN_FIELDS
ANY = "(any)"


def _modality(name: str | None) -> str | None:
    return MODALITIES.get(name, name if name in ("symbolic", "audio") else None)


def search(
    context: Context, text: str, file: str | None, k: int = 10, modality: str = "all",
    field: str | None = None, value: str | None = None, session: str | None = None,
) -> list[Found]:
    """The handler behind the tab and the ``/search`` endpoint: a file wins over the text; the
    shared library and ``session``'s own are searched together."""
    if file:
        vector = context.encode_file(file)
    elif text and text.strip():
        vector = context.encode_text(text.strip())
    else:
        raise Clamp3Error("type a query or drop a file")
    where = {field: value} if field and field != ANY and value and value != ANY else None
    return context.search(vector, int(k), _modality(modality), where, session)


def results_html(hits: list[Found]) -> str:
    """Results as an HTML table; every value from the library is escaped."""
    rows = []
    for hit in hits:
        details = ", ".join(f"{key}: {hit.metadata[key]}" for key in SHOWN_FIELDS if hit.metadata.get(key))
        rows.append(
            f"<tr><td>{hit.rank}</td><td>{hit.score:.3f}</td><td>{html.escape(hit.title)}</td><td>{'yours' if hit.own else ''}</td>"
            f"<td>{html.escape(hit.modality)}</td><td>{html.escape(details)}</td><td>{html.escape(Path(hit.path).name)}</td></tr>"
        )
    head = "<tr><th>#</th><th>score</th><th>title</th><th>library</th><th>modality</th><th>metadata</th><th>file</th></tr>"
    if not hits:
        return "<p class='clamp3-note'>no item of the library matches these filters</p>"
    return f"<table class='clamp3-results'>{head}{''.join(rows)}</table>"


def build(context: Context) -> None:
    fields = [ANY] + context.fields()
    with gr.Row():
        text = gr.Textbox(label="Query (any language)", placeholder="Chinesisches Volkslied aus Shanxi", scale=4)
        k = gr.Slider(1, 50, value=10, step=1, label="results", scale=1)
        modality = gr.Dropdown(list(MODALITIES), value="all", label="modality", scale=1)
    with gr.Row():
        file = file_input(label="...or drop a file (audio, MIDI, MusicXML, ABC, text)", scale=3)
        with gr.Column(scale=2):
            field = gr.Dropdown(fields, value=ANY, label="only items whose field")
            value = gr.Dropdown([ANY], value=ANY, label="has the value", allow_custom_value=True)
    button = gr.Button("Search", variant="primary")
    output = gr.HTML(elem_id="search-results")
    hits_state = gr.State([])
    with gr.Row():
        choice = gr.Dropdown([], label="Play and show a result", scale=3)
    with gr.Row():
        audio = gr.Audio(label="listen", type="numpy", interactive=False)
    score = gr.HTML(elem_id="search-score")

    @shown_errors
    def api_search(text: str, file: str | None, k: int, modality: str, request: gr.Request) -> str:
        return results_html(search(context, text, file, k, modality, session=session_of(request)))

    @shown_errors
    def run(text: str, file: str | None, k: int, modality: str, field: str, value: str, request: gr.Request):
        hits = search(context, text, file, k, modality, field, value, session_of(request))
        # by position: the tunes of one ABC book share a path
        choices = [(f"{h.rank}. {h.title} ({h.modality}{', yours' if h.own else ''})", str(i)) for i, h in enumerate(hits)]
        return results_html(hits), [h.to_dict() for h in hits], gr.update(choices=choices, value=None)

    @shown_errors
    def show(position: str | None, hits: list[dict]):
        if not position or not position.isdigit() or int(position) >= len(hits):
            return None, ""
        hit = hits[int(position)]
        return preview(hit["path"], hit["name"])

    def values_of(field: str):
        return gr.update(choices=[ANY] + context.field_values(field) if field != ANY else [ANY], value=ANY)

    # The named endpoint keeps its four inputs for gradio_client scripts; the page adds filters.
    api = gr.Button(visible=False)
    # More searches than the queue's default run at once: a search's own work is short and under the
    # model lock, and one with a slow upload waits for a reader's process, not in a queue slot that
    # text searches need.
    api.click(api_search, [text, file, k, modality], output, api_name="search", concurrency_limit=SEARCH_CONCURRENCY,
              concurrency_id="search")
    for trigger in (button.click, text.submit):
        trigger(run, [text, file, k, modality, field, value], [output, hits_state, choice], api_name=False,
                concurrency_limit=SEARCH_CONCURRENCY, concurrency_id="search")
    field.change(values_of, field, value, api_name=False)
    choice.change(show, [choice, hits_state], [audio, score], api_name=False)
