"""Library tab: add uploaded files or a server folder (under an allowed root) with a progress
bar; list, filter and remove items; statistics of the library.

What a visitor adds goes into the visitor's own library (see :mod:`explorers.context`), listed
with ids ``s1, s2, ...`` and marked "yours", and removed when the page closes; the shared library
changes only when the operator started the app with ``--shared-library-writable``."""

from __future__ import annotations

import gradio as gr

from clamp3.errors import Clamp3Error
from clamp3.library import LibraryItem, open_library
from clamp3.metadata import shown_metadata
from explorers.common import TRACK_TQDM, file_input, session_of, shown_errors, table_html
from explorers.context import OWN_PREFIX, WORDS, Context, item_key

LISTED = 200


def add(context: Context, uploads: list[str] | None, folder: str, session: str, progress: bool = True) -> str:
    """Embed uploads (copied into the session's folder) and/or a server folder into the visitor's
    own library, or into the shared library where the operator allowed it."""
    context.writable()
    shared = context.shared_writable
    if shared:
        context.writable_shared()  # the shipped demo library: refused before anything is read
    files, refused = [], []
    if folder and folder.strip():
        files, refused = context.server_files(folder)
        if not files and not refused:
            raise Clamp3Error(f"{folder.strip()}: no file of a supported type")
    context.check_count(uploads or [])
    if not shared:
        context.check_session_room(session, len(uploads or []) + len(files))
    sources, failures = [], []
    if uploads:
        sources, failures = context.store_uploads(uploads, session, lasting=shared)
    sources += files
    failures += refused
    if not sources:
        if failures:
            raise Clamp3Error("; ".join(failures))
        raise Clamp3Error("upload files or give a server folder")
    with context.lock:
        target = (context.library if shared else context.session_library(session, create=True)).location
        embedder = context.embedder
    # A connection of its own, outside the lock: files are read and converted while other visitors
    # search (the embedder holds the lock for each forward pass); searches see the items as each
    # chunk commits.
    writer = open_library(target, model=embedder.model)
    try:
        report = writer.add(sources, embedder, progress=progress, words=WORDS)
    finally:
        writer.close()
        if shared:
            context.maps.changed()  # the shared map of the new version, computed in the background
    lines = [report.summary()] + report.failures[:20] + failures
    return "\n".join(context.shown(line, session) for line in lines)


def listing(
    context: Context, modality: str, field: str, value: str, contains: str, session: str = ""
) -> list[tuple[bool, LibraryItem]]:
    """The visitor's own items first, then the shared library's, each with whether it is the visitor's."""
    where = {field: value} if field and value else None
    with context.lock:  # the session's library may be closed by its end meanwhile
        own = context.session_library(session) if session else None
        rows = [(True, r) for r in own.items(modality or None, where)] if own is not None else []
    rows += [(False, r) for r in context.library.items(modality or None, where)]
    if contains and contains.strip():
        needle = contains.strip().lower()
        rows = [(mine, r) for mine, r in rows if needle in r.title.lower() or needle in r.name.lower()]
    return rows


def listing_html(rows: list[tuple[bool, LibraryItem]]) -> str:
    shown = [[item_key(r.id, mine), "yours" if mine else "shared", r.title, r.modality,
              ", ".join(f"{k}: {v}" for k, v in list(shown_metadata(r.metadata).items())[:5]), r.path.rsplit("/", 1)[-1]]
             for mine, r in rows[:LISTED]]
    more = f"<p>{len(rows)} items; the first {LISTED} are listed</p>" if len(rows) > LISTED else f"<p>{len(rows)} items</p>"
    return more + table_html(["id", "library", "title", "modality", "metadata", "file"], shown)


def parse_ids(text: str) -> tuple[list[int], list[int]]:
    """(the visitor's own item ids, the shared library's) of a text like ``s12, s3 7``."""
    own, shared = [], []
    for token in text.replace(",", " ").split():
        mine = token[:1].lower() == OWN_PREFIX
        digits = token[1:] if mine else token
        if not digits.isdigit():
            raise Clamp3Error(f"item ids are whole numbers, yours with an '{OWN_PREFIX}' before them (s12), "
                              f"separated by spaces or commas ('{token}')")
        (own if mine else shared).append(int(digits))
    return own, shared


def remove(context: Context, ids_text: str, session: str = "") -> str:
    """Remove items of the visitor's own library (``s`` ids); the shared library's only where the
    operator allowed it, else the request is refused whole."""
    context.writable()
    own, shared = parse_ids(ids_text)
    if not own and not shared:
        raise Clamp3Error("give the ids of the items to remove")
    if shared:
        try:
            context.writable_shared()
        except Clamp3Error as exc:
            named = " ".join(map(str, shared[:5])) + (" ..." if len(shared) > 5 else "")
            raise Clamp3Error(f"{named}: of the shared library, which this page cannot change: {exc}; "
                              f"your own items have ids starting with '{OWN_PREFIX}'") from exc
    removed = 0
    with context.lock:
        if shared:
            removed += context.library.remove(shared)
        mine = context.session_library(session) if own else None
        if mine is not None:
            removed += mine.remove(own)
    if shared and removed:
        context.maps.changed()
    return f"removed {removed} of {len(own) + len(shared)} items"


def statistics(context: Context, session: str = "") -> str:
    info = context.library.info()
    rows = [["items", info["items"]], ["files", info["files"]], ["size on disk", f"{info['bytes'] / 2**20:.1f} MB"],
            ["model", info.get("model", "")], ["dimension", info.get("dim", "")], ["library", context.index.name]]
    rows += [[f"modality: {m}", n] for m, n in sorted(info["by_modality"].items())]
    for key in context.fields()[:6]:
        top = context.field_values(key, limit=5)
        rows.append([f"{key} (most common)", ", ".join(top)])
    if session and not context.shared_writable:
        with context.lock:
            own = context.session_library(session)
            rows.append(["your items (removed when this page closes)",
                         f"{len(own) if own is not None else 0} of at most {context.max_session_items}"])
    return table_html(["", ""], rows)


def leave(context: Context, session: str) -> None:
    """The page was closed or reloaded: the session's own library and uploads go."""
    context.end_session(session)


def build(context: Context, app: gr.Blocks) -> gr.HTML:
    if context.read_only:
        note = "This app is read-only: nothing can be added or removed."
    elif context.shared_writable:
        note = "Files you add go into the shared library (the operator started the app with --shared-library-writable)."
    else:
        note = (f"Files you add go into your own library, searched together with the shared one and marked *yours*, "
                f"ids `{OWN_PREFIX}1`, `{OWN_PREFIX}2`, ...; it is removed when you close or reload this page. "
                f"The shared library is changed by the operator only.")
    gr.Markdown(note)
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
        ids = gr.Textbox(label=f"ids to remove (spaces or commas; yours start with '{OWN_PREFIX}')", scale=3)
        remove_button = gr.Button("Remove", variant="stop", scale=1, interactive=not context.read_only)

    @shown_errors
    def run_add(uploads, folder, request: gr.Request, progress=TRACK_TQDM):
        session = session_of(request)
        return add(context, uploads, folder, session), statistics(context, session)

    @shown_errors
    def run_list(modality, field, value, contains, request: gr.Request):
        return listing_html(listing(context, modality, field, value, contains, session_of(request)))

    @shown_errors
    def run_remove(ids_text, request: gr.Request):
        session = session_of(request)
        return remove(context, ids_text, session), statistics(context, session)

    def run_leave(request: gr.Request):
        leave(context, session_of(request))

    add_button.click(run_add, [uploads, folder], [report, stats], api_name=False)
    list_button.click(run_list, [modality, field, value, contains], items, api_name=False)
    remove_button.click(run_remove, ids, [report, stats], api_name=False)
    field.change(lambda f: gr.update(choices=context.field_values(f), value=None), field, value, api_name=False)
    app.unload(run_leave)
    return stats
