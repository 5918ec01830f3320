"""The app: handlers without a browser, and `python app.py` serving the named /search endpoint to
a gradio_client; on the tiny test model and a library of real scores built here."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from clamp3.errors import Clamp3Error

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorers import search  # noqa: E402
from explorers.context import Context, Found  # noqa: E402


@pytest.fixture(scope="module")
def library_dir(tiny_model, tmp_path_factory):
    from conftest import GOLDEN

    from clamp3 import Embedder, Library

    folder = tmp_path_factory.mktemp("library")
    scores = sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:12]
    Library(folder, create=True).add(scores, Embedder(tiny_model), progress=False)
    return folder


@pytest.fixture(scope="module")
def context(tiny_model_dir, library_dir):
    return Context.load(str(tiny_model_dir), str(library_dir))


def test_text_search_handler_ranks_the_library(context):
    hits = search.search(context, "ein Volkslied", None, k=5).hits
    assert len(hits) == 5 and hits[0].score >= hits[-1].score
    with pytest.raises(Clamp3Error, match="type a query"):
        search.search(context, "   ", None)


def test_weights_without_a_library_serve_the_demo_librarys_space_of_them(tiny_model_dir, monkeypatch, tmp_path, demo_items):
    """Issue 19: weights with no --index used to be refused ("no library given"); they now serve the
    demo library's space of those weights, made in the cache (assets/ is not written), empty at first."""
    from clamp3.assets import is_demo_library
    from clamp3.io import cache_home

    monkeypatch.delenv("CLAMP3_INDEX", raising=False)
    monkeypatch.setenv("CLAMP3_FILL_START_DELAY", "3600")  # the fill itself: tests/test_spaces.py
    monkeypatch.setenv("CLAMP3_CACHE", str(tmp_path / "cache"))  # the space made here, not in the suite's cache
    context = Context.load(str(tiny_model_dir), None)
    try:
        assert is_demo_library(context.base.directory) and context.library.directory.is_relative_to(cache_home() / "spaces")
        answer = search.search(context, "a folk song", None, k=5)
        assert answer.hits == [] and answer.searched.startswith(f"searched 0 of {demo_items} items")
    finally:
        context.filler.close()
        context.maps.close()


def test_file_search_handler_finds_the_file_itself(context):
    row = context.library.items(modality="symbolic")[5]
    hits = search.search(context, "", row.path, k=3, modality="scores and MIDI").hits
    assert hits[0].path == row.path and hits[0].score > 0.999


def test_results_escape_metadata():
    hit = Found(rank=1, score=0.5, id=7, path="/x/<b>.abc", name="t", modality="symbolic", title="<script>alert(1)</script>",
                metadata={"region": "<img src=x onerror=alert(1)>"})
    page = search.results_html([hit])
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page


def test_python_app_py_serves_search_to_a_client(tmp_path, tiny_model_dir, library_dir):
    from gradio_client import Client
    from support import serve_app

    env = dict(os.environ, GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    with serve_app(["--weights", str(tiny_model_dir), "--index", str(library_dir)], log=tmp_path / "app.log", env=env) as (url, _):
        client = Client(url, verbose=False)
        page = client.predict("Chinesisches Volkslied aus Shanxi", None, 10, "all", api_name="/search")
        assert page.count("<tr>") == 11  # the header and ten results
        from conftest import GOLDEN
        from gradio_client import handle_file

        score = GOLDEN / "convert" / "midi" / "bwv417.mid"
        result = client.predict(handle_file(str(score)), "jig\nreel\nair", "{}, a fiddle tune", 0.02, api_name="/classify")
        assert set(result["probabilities"]) == {"jig", "reel", "air"} and abs(sum(result["probabilities"].values()) - 1) < 1e-4
        vector = client.predict("ein Volkslied", None, api_name="/embed")
        assert vector["dim"] == len(vector["vector"])
        for _ in range(3):
            client.predict("", handle_file(str(score)), 5, "all", api_name="/search")
        # the uploads, each once by content; no empty temporary file left per request (the Train tab's
        # example, served from the cache, is put there once at the start)
        left = sorted(p.name for p in (tmp_path / "gradio").rglob("*") if p.is_file())
        assert left == ["bwv417.mid", "clamp3-train-example.zip"], left
    assert not list((ROOT / "explorers").glob("*.pyi"))  # gradio writes one beside a module defining a component class


def test_malloc_arenas_are_capped_unless_the_environment_says(monkeypatch):
    import platform

    import app

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert app.limit_malloc_arenas() is False  # the user's setting stands
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert app.limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")


def test_a_read_only_app_serves_a_library_on_read_only_storage(tmp_path, tiny_model, tiny_model_dir):
    """Issue 16: `app.py --read-only` crashed at start on a library on read-only storage ('unable to
    open database file'); it opens the library read-only now and serves searches from it."""
    from conftest import GOLDEN
    from gradio_client import Client
    from support import read_only_folder, serve_app, without_write_rights

    from clamp3 import Embedder, Library

    folder = tmp_path / "library"
    library = Library(folder, create=True)
    library.add(sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:6], Embedder(tiny_model), progress=False)
    library.close()  # the WAL database alone: the app cannot make its -shm file on this storage
    env = dict(os.environ, GRADIO_TEMP_DIR=str(tmp_path / "gradio"))
    options = ["--read-only", "--weights", str(tiny_model_dir), "--index", str(folder), "--home", str(tmp_path / "home")]
    with read_only_folder(folder), serve_app(options, log=tmp_path / "app.log", env=env, preexec_fn=without_write_rights()) as (url, _):
        page = Client(url, verbose=False).predict("ein Volkslied", None, 5, "all", api_name="/search")
        assert page.count("<tr>") == 6  # the header and five results
    assert [p.name for p in folder.iterdir()] == ["library.sqlite3"]


def test_a_sigterm_as_soon_as_the_app_answers_ends_it_cleanly(tmp_path):
    """A SIGTERM in the app's first seconds (a Space restarted at once) ended it with SIGINT or
    SIGABRT instead of 0: launch() was still checking its own server, so the KeyboardInterrupt the
    SIGTERM becomes escaped it, and the search's fit of the library was still encoding in a daemon
    thread when Python finalised (an abort in native code). Now each exits 0, at once."""
    from support import log_tail, serve_app

    for attempt in range(2):  # the fit's window is short: twice, as a restart loop would
        log = tmp_path / f"app{attempt}.log"
        with serve_app(["--home", str(tmp_path / f"home{attempt}")], log=log) as (_, app):
            app.terminate()  # as soon as the port answers: launch() has not returned yet
            assert app.wait(timeout=90) == 0, log_tail(log)
