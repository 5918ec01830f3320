"""Issue 19: a library holds one vector space per model. Items, files and metadata are the
library's; each other model's vectors live in a space of their own, filled (and resumed) from the
library's files, searched with their titles and metadata, never mixed with another model's.

Two real tiny models: the tests' tiny checkpoint, and the same with its projections changed (so
another fingerprint and other vectors)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("Alsace", "Tyrol", "Bohemia")


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    from support import official_scores

    return official_scores(tmp_path_factory.mktemp("scores"), 10)


@pytest.fixture(scope="module")
def other_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with other projections: another model, as a fine-tuned one would be."""
    from clamp3.models import load_model, save_pretrained

    model = load_model(tiny_model_dir)
    generator = torch.Generator().manual_seed(19)
    with torch.no_grad():
        for projection in (model.text_proj, model.symbolic_proj, model.audio_proj):
            projection.weight.add_(torch.randn(projection.weight.shape, generator=generator) * 0.5)
    return save_pretrained(model, tmp_path_factory.mktemp("other") / "model")


@pytest.fixture
def base(tiny_model, scores, tmp_path):
    from clamp3 import Embedder, Library

    sidecar = {str(p): {"region": REGIONS[i % 3], "title": f"Tune {i}"} for i, p in enumerate(scores)}
    library = Library(tmp_path / "library", create=True)
    assert library.add(scores, Embedder(tiny_model), sidecar=sidecar, progress=False).added == len(scores)
    yield library
    library.close()


def test_a_space_holds_another_models_vectors_with_the_librarys_items_and_never_mixes(base, tiny_model, other_model_dir):
    from clamp3 import Embedder
    from clamp3.library import LibraryError, model_identity
    from clamp3.library.spaces import coverage, drop_space, fill, holds_model, list_spaces, open_space
    from clamp3.models import load_model

    other = load_model(other_model_dir)
    assert not holds_model(base, model_identity(other)) and holds_model(base, model_identity(tiny_model))
    with pytest.raises(LibraryError, match="holds no vectors of model") as refused:
        open_space(base, other, create=False)
    assert "fill-space" in str(refused.value.hint)
    space = open_space(base, other)
    assert space.directory == base.directory / "spaces" / model_identity(other)["fingerprint"]
    held = coverage(base, space)
    assert (held.items, held.total, held.complete) == (0, 10, False)
    assert "searched 0 of 10 items" in coverage(base, space).line("other")

    embedder = Embedder(other)
    report = fill(base, space, embedder, progress=False)
    assert len(report.written) == 10 and not report.failures
    held = coverage(base, space)
    assert (held.items, held.total, held.complete) == (10, 10, True) and held.line("other") == ""
    # the library's titles and metadata, the other model's vectors
    mine = {(r.id, r.name, r.title, json.dumps(r.metadata, sort_keys=True)) for r in base.items()}
    assert {(r.id, r.name, r.title, json.dumps(r.metadata, sort_keys=True)) for r in space.items()} == mine  # ids too
    item = space.items()[4]
    expected = next(iter(embedder.encode_files([item.path], progress=False))).embedding.reshape(-1)
    np.testing.assert_allclose(space.vectors_of([item.id])[0], expected / np.linalg.norm(expected), atol=1e-5)
    assert not np.allclose(space.vectors_of([item.id])[0], base.vectors_of([base.items()[4].id])[0], atol=1e-2)
    hits = space.search(embedder.encode_texts(["a folk song"]), k=3, where={"region": "Tyrol"})[0]
    assert hits and all(h.metadata["region"] == "Tyrol" and h.title.startswith("Tune ") for h in hits)
    with pytest.raises(LibraryError, match="holds vectors of model"):  # the tiny model's vectors never go into it
        space.add([item.path], Embedder(tiny_model), progress=False)

    # a second fill has nothing to do; a change to the library makes the space incomplete until the next fill
    assert len(fill(base, space, embedder, progress=False).written) == 0
    base.remove([base.items()[0].id])
    base.update_metadata([(base.items()[0].id, "Renamed", {"region": "Tyrol"})])
    assert not coverage(base, space).complete
    fill(base, space, embedder, progress=False)
    held = coverage(base, space)
    assert (held.items, held.total, held.complete) == (9, 9, True)
    assert len(space) == 9 and space.items()[0].title == "Renamed"

    from clamp3.library import Library

    served = Library.open(base.directory, model=other, space=True)  # the Python entry: the model's space
    assert served.directory == space.directory and len(served) == 9
    served.close()
    assert Library.open(base.directory, model=tiny_model, space=True).directory == base.directory  # its own model

    listed = list_spaces(base)
    assert [(s["own"], s["complete"], s["items"]) for s in listed] == [(True, True, 9), (False, True, 9)]
    space.close()
    assert drop_space(base, model_identity(other)["fingerprint"]) == Path(listed[1]["folder"])
    assert [s["own"] for s in list_spaces(base)] == [True]
    with pytest.raises(Exception, match="no space named"):
        drop_space(base, "nothing")


def clamp3(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clamp3.cli", *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_the_cli_says_how_to_build_a_space_builds_it_and_lists_and_drops_it(base, other_model_dir):
    from clamp3.library import model_identity
    from clamp3.models import load_model

    fingerprint = model_identity(load_model(other_model_dir))["fingerprint"]
    folder = base.directory
    refused = clamp3("search", "a folk song", "--index", folder, "--weights", other_model_dir)
    assert refused.returncode != 0 and "--build-space" in refused.stderr and "which has no space in it yet" in refused.stderr
    assert not (folder / "spaces").exists()  # nothing made by a refusal

    built = clamp3("search", "a folk song", "--index", folder, "--weights", other_model_dir, "--build-space", "--json", "-q")
    assert built.returncode == 0, built.stderr
    hits = [json.loads(line) for line in built.stdout.splitlines()]
    assert len(hits) == 10 and {h["space"] for h in hits} == {fingerprint} and all(h["title"].startswith("Tune ") for h in hits)
    again = clamp3("search", "a folk song", "--index", folder, "--weights", other_model_dir, "--json")
    assert [json.loads(line)["id"] for line in again.stdout.splitlines()] == [h["id"] for h in hits]
    own = clamp3("search", "a folk song", "--index", folder, "--json")  # no --weights: ... the embedded default
    assert own.returncode != 0 and "--build-space" in own.stderr

    listed = clamp3("index", "spaces", "--index", folder)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2
    assert f"{fingerprint}\t" in listed.stdout and "10 of 10 items\tcomplete" in listed.stdout
    dropped = clamp3("index", "drop-space", fingerprint, "--index", folder)
    assert dropped.returncode == 0 and not (folder / "spaces" / fingerprint).exists()


def test_a_named_set_tagged_in_the_library_is_in_its_spaces_which_stay_complete(base, other_model_dir, capsys):
    """Issue 20: a set tagged in a library (``index tag``) is a change of its metadata only: its
    spaces get it at once and stay complete (a search there says nothing of vectors to compute)."""
    from clamp3 import Embedder
    from clamp3.cli import main
    from clamp3.library.spaces import coverage, fill, open_space
    from clamp3.models import load_model

    other = load_model(other_model_dir)
    space = open_space(base, other)
    fill(base, space, Embedder(other), progress=False)
    assert coverage(base, space).complete
    ids = [r.id for r in base.items(where={"region": "Tyrol"})]
    assert main(["index", "tag", "--index", str(base.directory), "--set", "Tyrol tunes", "--ids", ",".join(map(str, ids))]) == 0
    assert [r.id for r in space.items(where={"set:Tyrol tunes": "yes"})] == ids and coverage(base, space).complete
    assert main(["search", "a folk song", "--index", str(base.directory), "--weights", str(other_model_dir), "--set", "Tyrol tunes",
                 "--json", "-q"]) == 0
    out, err = capsys.readouterr()
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == ids and "searched" not in err
    space.close()


def test_the_app_serves_a_space_while_it_fills_and_a_killed_fill_resumes_with_each_item_once(
    base, scores, other_model_dir, tmp_path, monkeypatch,
):
    """The app started on weights the library does not hold answers from the items of their space
    embedded so far, says how many, and draws no map of a part; a fill killed (SIGKILL, at its 3rd
    forward pass) is resumed by the app's next start, which ends with every item embedded once."""
    from test_crash_safety import run_killed

    from clamp3 import Embedder
    from clamp3.errors import Clamp3Error
    from clamp3.library import Library
    from clamp3.library.spaces import coverage, open_space
    from clamp3.models import load_model
    from explorers import maps, search
    from explorers.context import Context

    run_killed({"at": "call", "target": "clamp3.models.clamp3:CLaMP3Model.hidden", "nth": 3},
               ["index", "fill-space", "--index", base.directory, "--weights", other_model_dir, "--chunk-files", 1, "-q"])
    other = load_model(other_model_dir)
    space = open_space(base, other, create=False, read_only=True)
    held = coverage(base, space)
    assert 1 <= held.items < 10 and not held.complete, held  # the committed chunks kept, the rest not done

    monkeypatch.setenv("CLAMP3_FILL_START_DELAY", "3600")  # the app's fill held back: a search while it has not run
    context = Context.load(str(other_model_dir), str(base.directory), home=str(tmp_path / "home"), read_only=False)
    try:
        answer = search.search(context, "a folk song", None, k=10)
        assert len(answer.hits) == held.items and answer.searched.startswith(f"searched {held.items} of 10 items")
        assert answer.model == f"model, space {space.meta()['fingerprint']}"  # which model and space answered
        assert f"by model <code>model, space {space.meta()['fingerprint']}</code>" in search.status_line(answer, "")
        assert {h.path for h in answer.hits} <= {str(p.resolve()) for p in scores}
        with pytest.raises(Clamp3Error, match=f"{held.items} of 10 so far"):
            maps.library_points(context, True)

        context.filler.start()  # as at a start without the delay
        deadline = time.monotonic() + 300
        while context.filling():
            assert time.monotonic() < deadline, context.coverage()
            time.sleep(0.2)
        answer = search.search(context, "a folk song", None, k=20)
        assert len(answer.hits) == 10 and answer.searched == ""
    finally:
        context.filler.close()
        context.maps.close()
    filled = Library(space.directory, read_only=True)
    rows = filled.db.execute("SELECT path, name, vector FROM items").fetchall()
    assert len(rows) == len({(path, name) for path, name, _ in rows}) == 10  # each item once
    embedder = Embedder(other)
    for result in embedder.encode_files([r[0] for r in rows], progress=False):
        vector = dict(((p, n), v) for p, n, v in rows)[(str(result.source), result.item.name)]
        np.testing.assert_allclose(np.frombuffer(vector, np.float32), result.embedding.reshape(-1), atol=1e-5)


@pytest.mark.slow
def test_the_app_on_a_full_size_official_checkpoint_answers_from_the_demo_librarys_space_while_it_fills(tmp_path, demo_items):
    """``python app.py --weights SAAS.pth`` with no library: the demo library's space of those weights
    is made in the cache and filled in the background; a text search is answered within 60 s of the
    start, from the items of that space only, saying how many were searched. The checkpoint is the
    official format at the full SAAS shape (about 458M parameters), seeded random weights; the MERT
    is the tests' tiny one (nothing is fetched)."""
    import html
    import os
    import re
    import sqlite3

    from conftest import DATA
    from gradio_client import Client
    from support import random_official_checkpoint, saas_shaped_config, serve_app

    random_official_checkpoint(tmp_path / "saas.pth", saas_shaped_config(), seed=0)
    cache = tmp_path / "cache"
    options = ["--weights", str(tmp_path / "saas.pth"), "--text-model", str(DATA / "xlmr-base-shape"),
               "--mert", str(DATA / "golden" / "mert_tiny" / "tiny-mert"), "--home", str(tmp_path / "home")]
    started = time.monotonic()
    with serve_app(options, log=tmp_path / "app.log", env={**os.environ, "CLAMP3_CACHE": str(cache)}, timeout=120) as (url, _):
        page = Client(url, verbose=False).predict("a lively Irish jig", None, 10, "all", api_name="/search")
        answered = time.monotonic() - started
        (space,) = cache.glob("spaces/*/*/library.sqlite3")
        with sqlite3.connect(space) as db:
            held = {Path(path).name for (path,) in db.execute("SELECT path FROM items")}
    assert answered <= 60, f"first answer after {answered:.0f} s"
    searched = re.search(rf"searched ([\d,]+) of {demo_items} items", page)
    assert searched, page[:500]
    files = [html.unescape(name) for name in re.findall(r"<td>([^<>]+\.(?:abc|mtf|npy))</td>", page)]
    assert len(files) == min(10, int(searched.group(1).replace(",", "")))
    assert set(files) <= held  # items of this model's space only, never the demo's own vectors


def test_a_fill_ends_with_the_app_that_started_it(base, other_model_dir, tmp_path):
    """A stopped or killed app must not leave its filling child running (found by benchmarks/app.py:
    an orphan filler took a core for hours): the child watches its parent and ends with it."""
    import os
    import signal

    from support import serve_app

    options = ["--weights", str(other_model_dir), "--index", str(base.directory), "--home", str(tmp_path / "home")]
    with serve_app(options, log=tmp_path / "app.log",
                   env={**os.environ, "CLAMP3_MAP_START_DELAY": "3600"}) as (_, app):
        deadline = time.monotonic() + 60
        while not (fillers := _children(app.pid, "clamp3.library.spaces")):
            assert time.monotonic() < deadline, (tmp_path / "app.log").read_text()[-2000:]
            time.sleep(0.1)
        command = (Path("/proc") / str(fillers[0]) / "cmdline").read_bytes().split(b"\0")
        assert [b"--parent", str(app.pid).encode()] == command[command.index(b"--parent") : command.index(b"--parent") + 2]
        app.send_signal(signal.SIGKILL)
        app.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in fillers):
        assert time.monotonic() < deadline, "the filler outlived the app"
        time.sleep(0.2)

    # the watch itself, on a child that would otherwise sleep a minute: it ends within a second or two of its parent
    watched = ("import os, threading, time; from clamp3.library.spaces import _end_with; "
               "threading.Thread(target=_end_with, args=(os.getppid(), 0.1), daemon=True).start(); time.sleep(60)")
    middle = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                               f"child = subprocess.Popen([sys.executable, '-c', {watched!r}]); print(child.pid, flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    child = int(middle.stdout.readline())
    time.sleep(1.0)
    assert _alive(child)
    middle.kill()
    middle.wait()
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, "the watched child outlived its parent"
        time.sleep(0.1)


def _children(parent: int, marker: str) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            command = (status.parent / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == parent and marker in command:
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
