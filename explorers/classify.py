"""Classify tab: zero-shot classification with class prompts the user edits (one class a line,
several templates, any language), for an uploaded file or a selection of the library."""

from __future__ import annotations

import html
import os

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from clamp3.errors import Clamp3Error
from clamp3.zero_shot import DEFAULT_TEMPERATURE, FIT_COSINE, Prediction, ZeroShotClassifier, classify_library
from explorers.common import file_input, shown_errors, table_html
from explorers.context import Context

# name -> (classes, templates); "{}" in a template stands for the class.
PRESETS: dict[str, tuple[list[str], list[str]]] = {
    "tune type": (["jig", "reel", "hornpipe", "slip jig", "strathspey", "air"], ["{}, a fiddle tune", "{}"]),
    "region": (["Germany", "China", "Lorraine", "Luxembourg", "Poland"], ["a folk song from {}"]),
    "era": (["Medieval", "Renaissance", "Baroque", "Classical", "Romantic"], ["music from the {} era"]),
    "mood": (["happy", "sad", "calm", "lively"], ["a {} piece of music", "{} music"]),
    "genre": (["folk song", "fiddle tune", "chorale", "madrigal", "string quartet"], ["{}"]),
}
MAX_SELECTION = int(os.environ.get("CLAMP3_MAX_CLASSIFY_ITEMS", 500))  # library items of one classification


def parse_lines(text: str) -> list[str]:
    """One entry a line (commas also separate classes typed on one line), blanks and repeats dropped."""
    seen: list[str] = []
    for line in (text or "").replace(",", "\n").splitlines():
        if line.strip() and line.strip() not in seen:
            seen.append(line.strip())
    return seen


def classifier(context: Context, classes: list[str], templates: list[str], temperature: float = DEFAULT_TEMPERATURE) -> ZeroShotClassifier:
    """The zero-shot classifier of the CLI and the model card, on the model the app serves."""
    return ZeroShotClassifier.from_templates(context.encode_texts, classes, templates, float(temperature),
                                             max_prompts=context.max_prompts)


def classify(
    context: Context, file: str | None, classes_text: str, templates_text: str, temperature: float = DEFAULT_TEMPERATURE,
    field: str | None = None, value: str | None = None,
) -> tuple[list[str], np.ndarray, list[str]]:
    """Classes, (N, C) probabilities and the item names: of the uploaded file, or else of the
    library items whose ``field`` has ``value`` (at most MAX_SELECTION)."""
    prediction, names = predict(context, file, classes_text, templates_text, temperature, field, value)
    return prediction.classes, prediction.probabilities, names


def far_note(context: Context, prediction: Prediction) -> str:
    """A line when items are far from every class (their best cosine under the model's
    ``FIT_COSINE``), which the probabilities do not show; empty otherwise or for an uncalibrated model."""
    threshold = FIT_COSINE.get(context.weights)
    if threshold is None:
        return ""
    far = prediction.far_from_every_class(threshold)
    if not far.any():
        return ""
    best = float(prediction.cosines.max(axis=1)[far].max())
    which = "this file is" if len(far) == 1 else f"{int(far.sum()):,} of {len(far):,} items are"
    return (f"{which} far from every class (best cosine {best:.2f}, under {threshold:.2f}): none of these classes may "
            "describe it, however high its probability")


def classifier_of(context: Context, classes_text: str, templates_text: str, temperature: float) -> ZeroShotClassifier:
    """:func:`classifier` of the page's fields (classes and templates one a line)."""
    templates = [t.strip() for t in (templates_text or "").splitlines() if t.strip()]
    return classifier(context, parse_lines(classes_text), templates, temperature)


def predict(
    context: Context, file: str | None, classes_text: str, templates_text: str, temperature: float = DEFAULT_TEMPERATURE,
    field: str | None = None, value: str | None = None, chosen: ZeroShotClassifier | None = None,
) -> tuple[Prediction, list[str]]:
    """:func:`classify` with the cosines: the :class:`Prediction` and the item names (with the
    classifier ``chosen``, when one is built already)."""
    chosen = chosen or classifier_of(context, classes_text, templates_text, temperature)
    if file:
        vectors, names = context.encode_file(file), [str(file).rsplit("/", 1)[-1]]
    elif field and value:
        rows = context.library.items(where={field: value}, limit=MAX_SELECTION)
        if not rows:
            raise Clamp3Error(f"no item of the library has {field} = {value}")
        with context.lock:
            vectors = context.library.vectors_of([r.id for r in rows])
        names = [r.title for r in rows]
    else:
        raise Clamp3Error("drop a file, or choose a field and a value to classify part of the library")
    return chosen.predict(vectors), names


def write(
    context: Context, classes_text: str, templates_text: str, temperature: float, field: str | None, value: str | None, target: str,
    chosen: ZeroShotClassifier | None = None,
) -> str:
    """Classify the shared library's items (those whose ``field`` is ``value``, or all) and write each
    one's top class into ``target`` (and its probability into ``target_probability``): the
    operator's choice (``--shared-library-writable``). Under weights served from a space, the
    fields go into the library itself too, whose metadata the space follows. Returns a line."""
    context.writable_shared()
    chosen = chosen or classifier_of(context, classes_text, templates_text, temperature)
    where = {field: value} if field and value else None
    with context.lock:
        written = classify_library(context.library, chosen, target, where=where)
        if context.base is not None:  # the space's metadata is the library's: written there as well
            rows = context.library.items(where=where)
            context.base.update_metadata([(r.id, r.title, r.metadata) for r in rows])
    return f"wrote '{target}' (and '{target}_probability') of {written:,} items: filter and colour the map by it"


def cap_note(context: Context, field: str, value: str, used: int) -> str:
    """What the selection cap cut, in a line (empty when it cut nothing)."""
    if used < MAX_SELECTION:
        return ""
    with context.lock:
        total = len(context.library.items(where={field: value}))
    if total <= used:
        return ""
    return (f"used {used:,} of {total:,} items with {field} = {value} (the first added; the cap "
            f"CLAMP3_MAX_CLASSIFY_ITEMS={MAX_SELECTION})")


def chart(classes: list[str], probabilities: np.ndarray) -> go.Figure:
    mean = probabilities.mean(axis=0)
    order = np.argsort(-mean)
    figure = go.Figure(go.Bar(x=[float(mean[i]) for i in order], y=[classes[i] for i in order], orientation="h",
                              text=[f"{mean[i]:.2f}" for i in order], textposition="auto"))
    title = "probability" if len(probabilities) == 1 else f"mean probability over {len(probabilities)} items"
    figure.update_layout(title=title, template="plotly_white", yaxis={"autorange": "reversed"}, height=80 + 40 * len(classes),
                         margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis={"range": [0, 1]})
    return figure


def per_item_table(classes: list[str], probabilities: np.ndarray, names: list[str]) -> str:
    best = probabilities.argmax(axis=1)
    rows = [[name, classes[b], f"{p[b]:.3f}"] for name, b, p in zip(names, best, probabilities)]
    counts = np.bincount(best, minlength=len(classes))
    summary = ", ".join(f"{classes[i]}: {counts[i]}" for i in np.argsort(-counts) if counts[i])
    return f"<p>top class counts: {summary}</p>" + table_html(["item", "top class", "probability"], rows[:100])


def build(context: Context) -> None:
    first = next(iter(PRESETS))
    with gr.Row():
        preset = gr.Dropdown(list(PRESETS), value=first, label="preset", scale=1)
        temperature = gr.Slider(0.005, 0.2, value=DEFAULT_TEMPERATURE, step=0.005, label="temperature", scale=1)
    with gr.Row():
        classes = gr.Textbox("\n".join(PRESETS[first][0]), lines=6, label="classes (one a line: add, remove, rename)", scale=1)
        templates = gr.Textbox("\n".join(PRESETS[first][1]), lines=6, label="templates ({} is the class; one a line, averaged)", scale=1)
    with gr.Row():
        file = file_input(label="a file to classify", scale=2)
        with gr.Column(scale=2):
            fields = [""] + context.fields()
            field = gr.Dropdown(fields, value="", label="...or the library items whose field")
            value = gr.Dropdown([], label="has the value", allow_custom_value=True)
    with gr.Row():
        write_field = gr.Textbox(label="...and write each item's top class into the field (the library's items; empty: "
                                       "write nothing)", placeholder="genre_guess", max_length=40, elem_id="classify-write")
    button = gr.Button("Classify", variant="primary")
    plot = gr.Plot(label="probabilities", elem_id="classify-plot")
    details = gr.HTML()
    api_output = gr.JSON(visible=False)

    def load_preset(name: str):
        chosen_classes, chosen_templates = PRESETS[name]
        return "\n".join(chosen_classes), "\n".join(chosen_templates)

    @shown_errors
    def run(file, classes_text, templates_text, temperature, field, value, write_field):
        written = ""
        chosen = classifier_of(context, classes_text, templates_text, temperature)  # the class texts encoded once
        if write_field and write_field.strip():
            written = write(context, classes_text, templates_text, temperature, field, value, write_field.strip(), chosen)
        prediction, names = predict(context, file, classes_text, templates_text, temperature, field, value, chosen)
        notes = [written, far_note(context, prediction), "" if file else cap_note(context, field, value, len(names))]
        shown = "".join(f"<p class='clamp3-note'>{html.escape(note)}</p>" for note in notes if note)
        labels, probabilities = prediction.classes, prediction.probabilities
        return chart(labels, probabilities), shown + per_item_table(labels, probabilities, names)

    @shown_errors
    def api_classify(file, classes_text, templates_text, temperature):
        prediction, _ = predict(context, file, classes_text, templates_text, temperature)
        ranking = sorted(zip(prediction.classes, prediction.probabilities[0].tolist()), key=lambda t: -t[1])
        answer = {"label": ranking[0][0], "probabilities": dict(ranking), "best_cosine": float(prediction.cosines[0].max())}
        note = far_note(context, prediction)
        return answer | ({"note": note} if note else {})

    preset.change(load_preset, preset, [classes, templates], api_name=False)
    # fields written since the page was built (a classification written into the library) are offered too
    field.focus(lambda: gr.update(choices=[""] + context.fields()), None, field, api_name=False, queue=False)
    field.change(lambda f: gr.update(choices=context.field_values(f), value=None), field, value, api_name=False)
    button.click(run, [file, classes, templates, temperature, field, value, write_field], [plot, details], api_name=False)
    gr.Button(visible=False).click(api_classify, [file, classes, templates, temperature], api_output, api_name="classify")
