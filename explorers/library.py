"""Library tab: add uploaded files or a server folder (under an allowed root) with a progress
bar; list, filter and remove items; statistics of the library."""

from __future__ import annotations

import gradio as gr

from clamp3.errors import Clamp3Error
from clamp3.library import LibraryItem
from explorers.common import TRACK_TQDM, file_input, shown_errors, table_html
from explorers.context import WORDS, Context

LISTED = 200


def add(context: Context, uploads: list[str] | None, folder: str, session: str, progress: bool = True) -> str:
    """Embed uploads (copied into the session's folder) and/or a server folder into the library."""
    context.writable()
    sources, failures = [], []
    if uploads:
        stored, failures = context.store_uploads(uploads, session)
        sources += stored
    if folder and folder.strip():
        files, refused = context.server_files(folder)
        if not files and not refused:
            raise Clamp3Error(f"{folder.strip()}: no file of a supported type")
        sources += files
        failures += refused
    if not sources:
        if failures:
            raise Clamp3Error("; ".join(failures))
        raise Clamp3Error("upload files or give a server folder")
    with context.lock:
        report = context.library.add(sources, context.embedder, progress=progress, words=WORDS)
    lines = [report.summary()] + report.failures[:20] + failures
    return "\n".join(context.shown(line, session) for line in lines)


def listing(context: Context, modality: str, field: str, value: str, contains: str) -> list[LibraryItem]:
    where = {field: value} if field and value else None
    rows = context.library.items(modality or None, where)
    if contains and contains.strip():
        needle = contains.strip().lower()
        rows = [r for r in rows if needle in r.title.lower() or needle in r.name.lower()]
    return rows


def listing_html(rows: list[LibraryItem]) -> str:
    shown = [[r.id, r.title, r.modality, ", ".join(f"{k}: {v}" for k, v in list(r.metadata.items())[:5]),
              r.path.rsplit("/", 1)[-1]] for r in rows[:LISTED]]
    more = f"<p>{len(rows)} items; the first {LISTED} are listed</p>" if len(rows) > LISTED else f"<p>{len(rows)} items</p>"
    return more + table_html(["id", "title", "modality", "metadata", "file"], shown)


def remove(context: Context, ids_text: str) -> str:
    context.writable()
    try:
        ids = [int(t) for t in ids_text.replace(",", " ").split()]
    except ValueError as exc:
        raise Clamp3Error(f"item ids are whole numbers separated by spaces or commas ({exc})") from exc
    if not ids:
        raise Clamp3Error("give the ids of the items to remove")
    with context.lock:
        removed = context.library.remove(ids)
    return f"removed {removed} of {len(ids)} items"


def statistics(context: Context) -> str:
    info = context.library.info()
    rows = [["items", info["items"]], ["files", info["files"]], ["size on disk", f"{info['bytes'] / 2**20:.1f} MB"],
            ["model", info.get("model", "")], ["dimension", info.get("dim", "")], ["library", context.index.name]]
    rows += [[f"modality: {m}", n] for m, n in sorted(info["by_modality"].items())]
    for key in context.fields()[:6]:
        top = context.field_values(key, limit=5)
        rows.append([f"{key} (most common)", ", ".join(top)])
    return table_html(["", ""], rows)


def build(context: Context) -> None:
    stats = gr.HTML(elem_id="library-stats")
    with gr.Row():
        uploads = file_input(label="add files (audio, MIDI, MusicXML, ABC, text)", file_count="multiple", scale=3)
        with gr.Column(scale=2):
            roots = ", ".join(str(r) for r in context.roots) or "none: start the app with --roots DIR"
            folder = gr.Textbox(label=f"...or a server folder (allowed: {roots})")
            add_button = gr.Button("Add to the library", variant="primary", interactive=not context.read_only)
    report = gr.Textbox(label="report", lines=4, interactive=False)
    with gr.Row():
        modality = gr.Dropdown(["", "symbolic", "audio"], value="", label="modality")
        field = gr.Dropdown([""] + context.fields(), value="", label="field")
        value = gr.Dropdown([], label="value", allow_custom_value=True)
        contains = gr.Textbox(label="title contains")
    list_button = gr.Button("List")
    items = gr.HTML(elem_id="library-items")
    with gr.Row():
        ids = gr.Textbox(label="ids to remove (spaces or commas)", scale=3)
        remove_button = gr.Button("Remove", variant="stop", scale=1, interactive=not context.read_only)

    @shown_errors
    def run_add(uploads, folder, request: gr.Request, progress=TRACK_TQDM):
        session = getattr(request, "session_hash", None) or "anonymous"
        return add(context, uploads, folder, session), statistics(context)

    @shown_errors
    def run_list(modality, field, value, contains):
        return listing_html(listing(context, modality, field, value, contains))

    @shown_errors
    def run_remove(ids_text):
        return remove(context, ids_text), statistics(context)

    add_button.click(run_add, [uploads, folder], [report, stats], api_name=False)
    list_button.click(run_list, [modality, field, value, contains], items, api_name=False)
    remove_button.click(run_remove, ids, [report, stats], api_name=False)
    field.change(lambda f: gr.update(choices=context.field_values(f), value=None), field, value, api_name=False)
    return stats
