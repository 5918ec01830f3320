"""Search tab: a text in any language or a dropped file as the query; results from the library."""

from __future__ import annotations

import html
from pathlib import Path

import gradio as gr

from clamp3.errors import Clamp3Error
from clamp3.library import Hit
from explorers.context import Context

MODALITIES = {"all": None, "scores and MIDI": "symbolic", "audio": "audio"}
SHOWN_FIELDS = ("region", "province", "tune_type", "composer", "era", "function", "metre", "key", "split")


def search(context: Context, text: str, file: str | None, k: int = 10, modality: str = "all") -> list[Hit]:
    """The handler behind the tab and the ``/search`` endpoint: a file wins over the text."""
    if file:
        vector = context.encode_file(file)
    elif text and text.strip():
        vector = context.encode_text(text.strip())
    else:
        raise Clamp3Error("type a query or drop a file")
    return context.search(vector, int(k), MODALITIES.get(modality, modality if modality in ("symbolic", "audio") else None))


def results_html(hits: list[Hit]) -> str:
    """Results as an HTML table; every value from the library is escaped."""
    rows = []
    for hit in hits:
        details = ", ".join(f"{key}: {hit.metadata[key]}" for key in SHOWN_FIELDS if hit.metadata.get(key))
        rows.append(
            f"<tr><td>{hit.rank}</td><td>{hit.score:.3f}</td><td>{html.escape(hit.title)}</td>"
            f"<td>{html.escape(hit.modality)}</td><td>{html.escape(details)}</td><td>{html.escape(Path(hit.path).name)}</td></tr>"
        )
    head = "<tr><th>#</th><th>score</th><th>title</th><th>modality</th><th>metadata</th><th>file</th></tr>"
    return f"<table class='clamp3-results'>{head}{''.join(rows)}</table>"


def build(context: Context) -> None:
    with gr.Row():
        text = gr.Textbox(label="Query (any language)", placeholder="Chinesisches Volkslied aus Shanxi", scale=4)
        k = gr.Slider(1, 50, value=10, step=1, label="results", scale=1)
        modality = gr.Dropdown(list(MODALITIES), value="all", label="modality", scale=1)
    file = gr.File(label="...or drop a file (audio, MIDI, MusicXML, ABC, text)", type="filepath")
    button = gr.Button("Search", variant="primary")
    output = gr.HTML()

    def run(text: str, file: str | None, k: int, modality: str) -> str:
        try:
            return results_html(search(context, text, file, k, modality))
        except Clamp3Error as exc:
            raise gr.Error(str(exc)) from exc

    for trigger in (button.click, text.submit):
        trigger(run, [text, file, k, modality], output, api_name="search" if trigger == button.click else False)
