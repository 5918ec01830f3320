"""The library's map: computed once per library version in a process of its own while draws get
the last ready map, the old cache removed, nothing written into the shipped demo library, and the
neighbour search under the layout checked against brute force on the demo library's real vectors.

The maps here are of 12-13 real scores embedded by the tiny model; each computation is a real
UMAP in a child process (a few seconds: its imports and numba's compilation)."""

from __future__ import annotations

import hashlib
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorers import library, maps  # noqa: E402
from explorers.context import Context  # noqa: E402

WAIT = 180.0  # the longest a test waits for a map computed in the background (a busy machine)


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    from support import official_scores

    return official_scores(tmp_path_factory.mktemp("scores"), 13)


@pytest.fixture(scope="module")
def library_dir(tiny_model, scores, tmp_path_factory):
    from clamp3 import Embedder, Library

    folder = tmp_path_factory.mktemp("library")
    report = Library(folder, create=True).add(scores[:12], Embedder(tiny_model), progress=False)
    assert report.added == 12
    return folder


@pytest.fixture
def context(tiny_model_dir, library_dir, tmp_path):
    copy = tmp_path / "library"
    shutil.copytree(library_dir, copy)
    context = Context.load(str(tiny_model_dir), str(copy), home=str(tmp_path / "home"), read_only=False)
    yield context
    context.maps.close()


def up_to_date(context: Context, center: bool) -> maps.MapView:
    """The map once the background has computed it for the library as it is now."""
    deadline = time.monotonic() + WAIT
    while (shown := maps.library_points(context, center)).status:
        assert time.monotonic() < deadline, shown.status
        time.sleep(0.2)
    return shown


def test_a_map_is_computed_once_for_concurrent_draws_and_again_after_a_change(context, scores):
    """Issue 17: every draw after a change waited for UMAP (131 s on the demo library), concurrent
    draws each ran their own, and a cache per version piled up in the library folder. Here: one
    computation for four draws at once; after the app's add, a draw gets the last map at once (the
    new item placed on it), the new map replaces the old file; a change by another process is
    found by the thread alone."""
    from clamp3.library import Library
    from clamp3.library.maps import BackgroundMaps

    context.maps.close()
    context.maps = BackgroundMaps(context.library, flags=(False,), poll=0.2)  # the uncentred map only: one computation per version
    fingerprint, first = context.library.meta()["fingerprint"], context.library.version
    legacy = context.index / f"map-{fingerprint}-v{first - 1}-all-n.npy"  # an earlier release's cache
    np.save(legacy, np.zeros((12, 2), np.float32))

    answers: list[maps.MapView] = []
    lines: list[str] = []  # what a draw waiting for the first map shows (issue 18: not only a spinner)
    draws = [threading.Thread(target=lambda: answers.append(context.maps.view(False, wait=WAIT, waiting=lines.append))) for _ in range(4)]
    for draw in draws:
        draw.start()
    for draw in draws:
        draw.join()
    assert context.maps.computed == 1 and len(answers) == 4
    assert lines and all(line.startswith("building the map: UMAP on 12 items") for line in lines)
    assert any(" s ago, about " in line and line.endswith(" s in all)") for line in lines), lines[-1]
    assert all(a.status == "" and len(a.rows) == 12 and np.array_equal(a.points, answers[0].points) for a in answers)
    assert [p.name for p in context.index.glob("map-*")] == [f"map-{fingerprint}-v{first}-all-n.npz"]  # the legacy one removed

    context.shared_writable = True  # the operator's choice: the Library tab adds to the shared library
    assert library.add(context, [str(scores[12])], "", "visitor", progress=False).startswith("added 1 items")
    second = context.library.version
    shown = maps.library_points(context, False)  # while the new map is computed: the last one, the new item placed on it
    assert context.maps.computed == 1, "the draw waited for the new map"
    assert shown.status.startswith(f"Showing the map of library version {first} (1 item added since, placed by nearest neighbours)")
    assert len(shown.rows) == len(shown.points) == 13 and np.isfinite(shown.points).all()
    old = {r.id: p for r, p in zip(answers[0].rows, answers[0].points)}
    kept = np.array([r.id in old for r in shown.rows])
    assert np.array_equal(shown.points[kept], np.array([old[r.id] for r in shown.rows if r.id in old]))
    low, high = shown.points[kept].min(axis=0), shown.points[kept].max(axis=0)
    assert ((low <= shown.points[~kept]) & (shown.points[~kept] <= high)).all()  # among its neighbours, inside the map

    fresh = up_to_date(context, False)
    assert context.maps.computed == 2 and len(fresh.rows) == 13 and not np.array_equal(fresh.points[kept], shown.points[kept])
    assert [p.name for p in context.index.glob("map-*")] == [f"map-{fingerprint}-v{second}-all-n.npz"]  # the old cache removed

    elsewhere = Library(context.index)  # another process's change (clamp3 index remove): no draw, no call of the app's
    elsewhere.remove([shown.rows[0].id])
    elsewhere.close()
    deadline = time.monotonic() + WAIT
    while context.maps.computed < 3:  # the thread looks for changes on its own
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert len(up_to_date(context, False).rows) == 12 and context.maps.computed == 3

    # issue 20: a change of metadata only (a named set tagged by another process) keeps the map: the
    # rows carry the set at once, no status line, nothing computed again
    tagger = Library(context.index)
    tagger.tag([r.id for r in shown.rows[1:4]], "three")
    tagger.close()
    tagged = maps.library_points(context, False)
    assert tagged.status == "" and sum(r.metadata.get("set:three") == "yes" for r in tagged.rows) == 3
    time.sleep(2.0)  # the thread, looking every 0.2 s, finds the library's version changed, its vectors not
    assert context.maps.computed == 3 and maps.library_points(context, False).status == ""


def test_the_shipped_demo_library_is_never_written_by_its_map(tiny_model_dir, library_dir, tmp_path, monkeypatch):
    """The demo library in assets/ is read as released: its shipped map.csv is drawn as it is, and
    a map it does not ship is cached under the app's cache folder, never beside the library."""
    from clamp3.io import cache_home
    from clamp3.library import Library, write_shipped_map

    demo = tmp_path / "assets" / "demo-library"
    shutil.copytree(library_dir, demo)
    released = Library(demo)
    ids = [r.id for r in released.items()]
    released.close()
    shipped = np.random.default_rng(0).uniform(-10, 10, (len(ids), 2)).astype(np.float32)
    write_shipped_map(demo, ids, shipped)
    monkeypatch.setenv("CLAMP3_ASSETS", str(demo.parent))

    def contents() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in demo.iterdir()}

    before = contents()
    context = Context.load(str(tiny_model_dir), str(demo), home=str(tmp_path / "home"), read_only=False)
    try:
        assert context.library.read_only
        drawn = maps.library_points(context, True)
        assert drawn.status == "" and [r.id for r in drawn.rows] == ids
        np.testing.assert_allclose(drawn.points, shipped, atol=1e-4)
        uncentred = context.maps.view(False, wait=WAIT)
        assert uncentred.status == "" and len(uncentred.rows) == len(ids) and context.maps.computed == 1
    finally:
        context.maps.close()
        context.library.close()
    assert len(list((cache_home() / "maps").rglob("map-*-all-n.npz"))) == 1
    after = contents()
    assert {name: after[name] for name in before} == before  # every released file, byte for byte
    assert set(after) - set(before) <= {"library.sqlite3-wal", "library.sqlite3-shm"}  # SQLite's, for any reader


def test_maps_are_cached_beside_a_writable_library_and_elsewhere_for_one_read_only(library_dir):
    from clamp3.io import cache_home
    from clamp3.library import Library
    from clamp3.library.maps import cache_folder

    writable, read_only = Library(library_dir), Library(library_dir, read_only=True)
    assert cache_folder(writable) == library_dir
    assert cache_folder(read_only).parent == cache_home() / "maps"
    writable.close()
    read_only.close()


def test_the_neighbours_under_the_map_are_the_exact_ones_and_the_map_is_the_same_for_a_seed():
    """Neighbour candidates come from a 50-d projection and are re-ranked by exact cosine: checked
    against brute force on 2,000 vectors of the demo library (real embeddings, two modalities)."""
    from clamp3.assets import library_dir as demo_dir
    from clamp3.library import Library
    from clamp3.library.maps import nearest_neighbours, umap_coordinates, unit_rows

    demo = Library(demo_dir(unpack=False), read_only=True)
    rows = demo.items()[::6][:2000]
    vectors = demo.vectors_of([r.id for r in rows])
    modalities = [r.modality for r in rows]
    demo.close()
    assert len(set(modalities)) == 2
    x = unit_rows(vectors, modalities, center=True)
    indices, distances = nearest_neighbours(x, 15)
    cosines = x @ x.T
    reference = np.argsort(-cosines, axis=1, kind="stable")[:, :15]
    shared = np.mean([len(set(a) & set(b)) for a, b in zip(indices.tolist(), reference.tolist())]) / 15
    assert shared >= 0.99, shared
    # (distances are clipped at 0: two equal vectors' float32 cosine can come out a hair above 1)
    np.testing.assert_allclose(distances, np.maximum(0, 1 - np.take_along_axis(cosines, indices, axis=1)), atol=1e-5)
    assert (np.diff(distances, axis=1) >= 0).all()

    few = vectors[:200]
    first, again = umap_coordinates(few, modalities[:200], center=True), umap_coordinates(few, modalities[:200], center=True)
    assert first.shape == (200, 2) and np.array_equal(first, again)


def test_a_clicked_point_plays_and_shows_its_item_and_a_forged_id_gets_a_message(context):
    """Issue 18: a click on a map point plays it and shows its score. The id comes from the browser:
    anything but the id of an item of the shared library gets a one-line message."""
    from clamp3.errors import Clamp3Error

    item = context.library.items()[3]
    (rate, wave), shown = maps.clicked_item(context, item.id)
    assert rate > 0 and len(wave) > rate  # over a second of sound
    assert "<svg" in shown and item.title in shown
    for forged in ("1 OR 1=1", True, None, 1.5, [item.id], max(r.id for r in context.library.items()) + 1):
        with pytest.raises(Clamp3Error):
            maps.clicked_item(context, forged)
