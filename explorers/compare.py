"""Compare tab: two sets of files -> the Fréchet (FID-like) distance between them and their group
similarity (the cosine of their mean vectors)."""

from __future__ import annotations

import gradio as gr

from clamp3.errors import Clamp3Error
from clamp3.retrieval import frechet_bootstrap, frechet_distance, group_similarity
from explorers.common import file_input, shown_errors, table_html
from explorers.context import Context


def compare(context: Context, reference: list[str] | None, candidate: list[str] | None, bootstrap: int = 50) -> dict:
    sets = []
    for name, files in (("reference", reference), ("compared", candidate)):
        names, vectors, failures = context.encode_files(list(files or []))
        if len(vectors) < 2:
            reason = f" ({'; '.join(failures[:3])})" if failures else ""
            raise Clamp3Error(f"the {name} set needs at least 2 readable files, it has {len(vectors)}{reason}")
        sets.append((names, vectors, failures))
    (_, a, fa), (_, b, fb) = sets
    return compare_vectors(a, b, bootstrap) | {"failures": fa + fb}


def compare_vectors(a, b, bootstrap: int = 50) -> dict:
    """Two sets of vectors (N, D), (M, D) -> the Fréchet distance, its bootstrap interval, the group
    similarity, the sizes, and a warning when a set is too small for the distance to mean much."""
    low, high = frechet_bootstrap(a, b, samples=int(bootstrap)) if bootstrap else (float("nan"), float("nan"))
    dim = a.shape[1]
    warning = ""
    if min(len(a), len(b)) < dim + 1:
        # a covariance of n < D+1 vectors in D dimensions is singular: the distance's trace term
        # measures the sample, not the music, and changes with every file added or left out
        warning = (f"too few files for the Fréchet distance to mean much: {min(len(a), len(b))} in a set, and its covariance "
                   f"needs at least {dim + 1} (the embedding's {dim} dimensions + 1); read the bootstrap interval and the "
                   "group similarity instead")
    return {"frechet_distance": frechet_distance(a, b), "ci95": [low, high], "group_similarity": group_similarity(a, b),
            "reference": len(a), "compared": len(b), "failures": [], "warning": warning}


def result_table(result: dict, what: str = "files") -> str:
    rows = [["Fréchet distance (lower: closer)", f"{result['frechet_distance']:.4f}"],
            ["95% bootstrap interval", f"{result['ci95'][0]:.4f} – {result['ci95'][1]:.4f}"],
            ["group similarity (cosine of the means)", f"{result['group_similarity']:.4f}"],
            [what, f"{result['reference']} reference, {result['compared']} compared"]]
    rows += [["skipped", failure] for failure in result["failures"]]
    if result["warning"]:
        rows.insert(0, ["warning", result["warning"]])
    return table_html(["", ""], rows)


def build(context: Context) -> None:
    with gr.Row():
        reference = file_input(label="reference set", file_count="multiple")
        candidate = file_input(label="compared set", file_count="multiple")
    bootstrap = gr.Slider(0, 200, value=50, step=10, label="bootstrap samples for the 95% interval (0: none)")
    button = gr.Button("Compare", variant="primary")
    output = gr.HTML(elem_id="compare-result")

    @shown_errors
    def run(reference, candidate, bootstrap):
        return result_table(compare(context, reference, candidate, bootstrap))

    button.click(run, [reference, candidate, bootstrap], output, api_name="compare")
