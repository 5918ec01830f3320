"""Issue 16: a visitor's own library, layered over the shared one. What a visitor adds is searched
in that visitor's session only, with the shared library, and goes with the session (its page
closed, or idle past the limit); the shared library changes only by the operator's option, and
the demo library that ships in ``assets/`` never. On the tiny test model and real scores."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from clamp3.errors import Clamp3Error
from clamp3.library import DB_NAME

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorers import library, maps, search  # noqa: E402
from explorers.context import Context  # noqa: E402


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    from support import official_scores

    return official_scores(tmp_path_factory.mktemp("scores"), 6)


@pytest.fixture(scope="module")
def shared_dir(tiny_model, scores, tmp_path_factory):
    """The shared library: the first four scores."""
    from clamp3 import Embedder, Library

    folder = tmp_path_factory.mktemp("shared")
    library = Library(folder, create=True)
    assert library.add(scores[:4], Embedder(tiny_model), progress=False).added == 4
    library.close()
    return folder


@pytest.fixture
def context(tiny_model_dir, shared_dir, tmp_path):
    shutil.copytree(shared_dir, tmp_path / "library")
    return Context.load(str(tiny_model_dir), str(tmp_path / "library"), roots=[], home=str(tmp_path / "home"), read_only=False)


def shared_state(context: Context) -> tuple[int, str, int]:
    """The shared library's item count, and its database file's hash and time of change."""
    db = context.index / DB_NAME
    return len(context.library), hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime_ns


def test_a_visitors_music_is_found_in_their_session_only_and_the_shared_library_is_unchanged(context, scores):
    """Issue 16: the Library tab wrote into the shared library (the shipped demo's database showed as
    changed), so any visitor changed the library for everyone."""
    before = shared_state(context)
    report = library.add(context, [str(p) for p in scores[4:]], "", "A", progress=False)
    assert report.startswith("added 2 items")
    assert shared_state(context) == before
    assert (context.home / "sessions" / "A" / "uploads" / scores[5].name).exists()

    hits = search.search(context, "", str(scores[5]), k=3, session="A").hits
    assert hits[0].own and hits[0].key == "s2" and hits[0].score > 0.999 and [h.rank for h in hits] == [1, 2, 3]
    assert "<td>yours</td>" in search.results_html(hits)
    # one ranking of both libraries, as brute force over their vectors together finds it
    query = context.encode_file(scores[5])[0]
    every = np.concatenate([context.library.matrix()[1], context.session_library("A").matrix()[1]])
    assert np.allclose([h.score for h in hits], np.sort(every @ query)[::-1][:3], atol=1e-5)
    # the text search merges too, and another visitor sees none of it
    assert any(h.own for h in search.search(context, "a chorale", None, k=6, session="A").hits)
    theirs = search.search(context, "", str(scores[5]), k=6, session="B").hits
    assert len(theirs) == 4 and not any(h.own for h in theirs)
    assert not (context.home / "sessions" / "B").exists()

    rows = library.listing(context, "", "", "", "", "A")
    page = library.listing_html(rows)
    assert [mine for mine, _ in rows] == [True, True, False, False, False, False]
    assert "<td>s1</td><td>yours</td>" in page and "<td>s2</td><td>yours</td>" in page and "<td>1</td><td>shared</td>" in page
    assert [mine for mine, _ in library.listing(context, "", "", "", "", "B")] == [False] * 4
    assert "your items (removed when this page closes)</td><td>2 of at most 500" in library.statistics(context, "A")
    # placed on the shared map as a pinned query is, for their owner only
    rows, points = context.library.items(), np.arange(8, dtype=np.float32).reshape(4, 2)
    titles, placed = maps.own_items(context, "A", rows, points)
    assert len(titles) == 2 and placed.shape == (2, 2) and (placed >= 0).all() and (placed <= 7).all()
    assert "yours (2)" in [trace.name for trace in maps.figure(rows, points, "modality", own=(titles, placed)).data]
    assert maps.own_items(context, "B", rows, points)[0] == []


def test_a_visitor_removes_their_own_items_and_never_the_shared_librarys(context, scores):
    """Issue 16: remove took any typed id of the shared library, with no confirmation or undo."""
    library.add(context, [str(scores[4])], "", "A", progress=False)
    before = shared_state(context)
    with pytest.raises(Clamp3Error) as refused:
        library.remove(context, "s1, 2", "A")
    message = str(refused.value)
    assert message.startswith("2: of the shared library, which this page cannot change: the shared library is changed "
                              "by the operator only (clamp3 index add/remove, or the app started with --shared-library-writable)")
    assert "\n" not in message
    assert shared_state(context) == before and len(context.session_library("A")) == 1  # refused whole
    assert library.remove(context, "s1", "B") == "removed 0 of 1 items"  # another visitor's ids are not theirs
    assert library.remove(context, "S1", "A") == "removed 1 of 1 items"
    assert len(context.session_library("A")) == 0 and shared_state(context) == before
    with pytest.raises(Clamp3Error, match="whole numbers, yours with an 's' before them"):
        library.remove(context, "sx", "A")


def test_a_session_goes_with_its_page_or_when_idle(context, scores):
    """Issue 16: a visitor's additions stayed in the library for good."""
    from app import build_app

    library.add(context, [str(scores[4])], "", "A", progress=False)
    library.add(context, [str(scores[5])], "", "B", progress=False)
    (unload,) = [fn for fn in build_app(context).fns.values() if fn.targets == [(None, "unload")]]
    unload.fn(SimpleNamespace(session_hash="A"))  # what gradio runs when A's page closes
    assert not (context.home / "sessions" / "A").exists() and "A" not in context.sessions
    hits = search.search(context, "", str(scores[4]), k=10, session="A").hits
    assert len(hits) == 4 and not any(h.own for h in hits)

    library.add(context, [str(scores[4])], "", "C", progress=False)
    os.utime(context.home / "sessions" / "B", (0, 0))  # idle since 1970
    assert context.sweep_sessions() == ["B"]
    assert sorted(os.listdir(context.home / "sessions")) == ["C"] and set(context.sessions) == {"C"}
    context.session_hours = 1 / 3600
    assert context.sweep_sessions(now=os.path.getmtime(context.home / "sessions" / "C") + 2) == ["C"]
    assert not os.listdir(context.home / "sessions")


def test_a_visitors_library_is_bounded_before_any_file_is_read(context, scores, monkeypatch):
    context.max_session_items = 3
    library.add(context, [str(p) for p in scores[:2]], "", "A", progress=False)
    embedded = []
    monkeypatch.setattr(context.embedder, "encode_files", lambda *args, **kwargs: embedded.append(args) or iter(()))
    with pytest.raises(Clamp3Error, match=r"^your library holds 2 items; 2 more files would pass its limit of 3 items"):
        library.add(context, [str(p) for p in scores[2:4]], "", "A", progress=False)
    assert not embedded and sorted(os.listdir(context.upload_folder("A"))) == sorted(p.name for p in scores[:2])


def test_only_the_operator_writes_the_shared_library_and_never_the_shipped_demo(
    context, scores, shared_dir, tiny_model_dir, tmp_path, monkeypatch
):
    from clamp3.assets import assets_dir, is_demo_library

    context.shared_writable = True  # --shared-library-writable: one user on a library of their own
    assert library.add(context, [str(scores[4])], "", "A", progress=False).startswith("added 1 items")
    assert len(context.library) == 5 and context.session_library("A") is None
    library.leave(context, "A")  # what the shared library keeps outlives the session
    added = [r for r in context.library.items() if r.path.endswith(scores[4].name)]
    assert len(added) == 1 and Path(added[0].path).exists() and Path(added[0].path).parent == context.upload_folder("A", lasting=True)
    assert library.remove(context, str(added[0].id), "A") == "removed 1 of 1 items" and len(context.library) == 4

    assert is_demo_library(ROOT / "assets" / "demo-library") and assets_dir() == ROOT / "assets"
    monkeypatch.setenv("CLAMP3_ASSETS", str(tmp_path / "assets"))
    monkeypatch.setenv("CLAMP3_SHARED_WRITABLE", "1")
    shutil.copytree(shared_dir, tmp_path / "assets" / "demo-library")
    demo = Context.load(str(tiny_model_dir), str(tmp_path / "assets" / "demo-library"), home=str(tmp_path / "home2"), read_only=False)
    assert demo.shared_writable
    before = shared_state(demo)
    for attempt in (lambda: library.add(demo, [str(scores[4])], "", "A", progress=False), lambda: library.remove(demo, "1", "A")):
        with pytest.raises(Clamp3Error, match="the demo library that ships in assets/ is never changed by the app"):
            attempt()
    assert shared_state(demo) == before and not (tmp_path / "home2" / "uploads").exists()


def test_the_operator_option_reaches_the_app(monkeypatch):
    import app

    given = []

    def load(*args):
        given.append(args)
        raise Clamp3Error("stopped here")

    monkeypatch.setattr(app.Context, "load", load)
    for argv, expected in (([], None), (["--shared-library-writable"], True)):
        with pytest.raises(SystemExit, match="stopped here"):
            app.main(argv)
        assert given[-1][6] is expected  # (shared_library_writable: the seventh argument of Context.load)


def test_a_sessions_downloads_go_with_it_and_are_bounded(context, monkeypatch):
    """Issue 18: the result lists written for download stayed in the served exports folder for good."""
    from explorers import context as context_module

    hits = [h.to_dict() for h in search.search(context, "a chorale", None, k=3, session="A").hits]
    for session in ("A", "B", "C"):
        search.export(hits, context.export_folder(session))
    folders = {s: context.export_folder(s) for s in ("A", "B", "C")}
    assert len({f.name for f in folders.values()}) == 3 and all(f.parent == context.home / "exports" for f in folders.values())
    assert "A" not in folders["A"].name  # the served folder's name does not give the session away
    context.end_session("A")  # a search-only session has no session folder: its downloads go all the same
    assert not folders["A"].exists() and folders["B"].exists()
    os.utime(folders["B"], (0, 0))  # idle since 1970
    context.sweep_sessions()
    assert not folders["B"].exists() and folders["C"].exists()
    monkeypatch.setattr(context_module, "EXPORT_FOLDERS_KEPT", 1)
    search.export(hits, context.export_folder("D"))
    os.utime(folders["C"], (time.time() - 60, time.time() - 60))  # older than D's
    context.sweep_sessions()
    assert sorted(p.name for p in (context.home / "exports").iterdir()) == [context.export_folder("D").name]
