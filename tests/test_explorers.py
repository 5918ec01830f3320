"""The app's tab handlers without a browser, on the tiny test model and a library of real scores
(with metadata) built here: search filters and previews, classify, map, library, train, compare,
and the rules for uploads and server folders."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from clamp3.errors import Clamp3Error, InputError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorers import classify, compare, library, maps, search, train  # noqa: E402
from explorers.context import Context, safe_name, upload_name  # noqa: E402

REGIONS = ("Alsace", "Bohemia", "Tyrol")


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    from support import official_scores

    return official_scores(tmp_path_factory.mktemp("scores"), 12)


@pytest.fixture(scope="module")
def library_dir(tiny_model, scores, tmp_path_factory):
    from clamp3 import Embedder, Library

    folder = tmp_path_factory.mktemp("library")
    sidecar = {str(p): {"region": REGIONS[i % 3], "title": f"Tune <{i}>"} for i, p in enumerate(scores)}
    report = Library(folder, create=True).add(scores, Embedder(tiny_model), sidecar=sidecar, progress=False)
    assert report.added == 12
    return folder


@pytest.fixture
def context(tiny_model_dir, library_dir, tmp_path):
    """A fresh copy of the library per test (some tests change it), server root = tmp_path/root."""
    copy = tmp_path / "library"
    shutil.copytree(library_dir, copy)
    (tmp_path / "root").mkdir()
    return Context.load(str(tiny_model_dir), str(copy), roots=[str(tmp_path / "root")], home=str(tmp_path / "home"), read_only=False)


# --- search -------------------------------------------------------------------------------------
def test_search_filters_by_metadata(context):
    hits = search.search(context, "a folk song", None, k=10, field="region", value="Bohemia").hits
    assert len(hits) == 4 and {h.metadata["region"] for h in hits} == {"Bohemia"}
    assert len(search.search(context, "a folk song", None, k=10, field=search.ANY, value=search.ANY).hits) == 10


def test_results_escape_titles(context):
    page = search.results_html(search.search(context, "x", None, k=3).hits)
    assert "Tune &lt;" in page and "Tune <" not in page


def test_preview_plays_and_engraves_a_result(context):
    from explorers.common import preview

    path = context.library.items()[0].path
    (rate, wave), page = preview(path)
    assert rate > 8000 and 0 < len(wave) <= 31 * rate and float(np.sqrt(np.mean(wave**2))) > 1e-3
    assert "<svg" in page


def test_preview_of_a_book_item_is_its_own_tune():
    from conftest import DATA

    from explorers.common import preview

    pages = [preview(DATA / "scores" / "essen_book.abc", f"essen_book#{number}")[1] for number in ("1", "2", "3")]
    assert all("<svg" in page for page in pages) and len(set(pages)) == 3


def test_preview_of_audio_features_uses_the_score_beside_them(tmp_path, scores):
    from explorers.common import preview_source

    shutil.copy(scores[0], tmp_path / "work.abc")
    np.save(tmp_path / "work.npy", np.zeros((2, 3), dtype=np.float32))
    assert preview_source(tmp_path / "work.npy") == tmp_path / "work.abc"
    # a rendering's features: <work>.<how it was rendered>.npy (the demo library's second edition)
    np.save(tmp_path / "work.flute-96-soft.npy", np.zeros((2, 3), dtype=np.float32))
    assert preview_source(tmp_path / "work.flute-96-soft.npy") == tmp_path / "work.abc"
    shutil.copy(scores[0], tmp_path / "work.flute-96-soft.abc")  # a file of the full name comes first
    assert preview_source(tmp_path / "work.flute-96-soft.npy") == tmp_path / "work.flute-96-soft.abc"
    np.save(tmp_path / "work.v2.flute-96-soft.npy", np.zeros((2, 3), dtype=np.float32))  # one dotted part only
    with pytest.raises(Clamp3Error, match="audio features only"):
        preview_source(tmp_path / "work.v2.flute-96-soft.npy")
    np.save(tmp_path / "alone.npy", np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(Clamp3Error, match="alone.npy: audio features only"):
        preview_source(tmp_path / "alone.npy")


def test_a_preview_that_fails_names_the_file_not_its_server_folder(tmp_path):
    """Issue 18: the note under "Play and show a result" showed the server's folder of the file."""
    from conftest import DATA

    from explorers.common import preview

    folder = tmp_path / "server" / "music"
    folder.mkdir(parents=True)
    shutil.copy(DATA / "bad" / "garbage.mid", folder / "work.mid")
    np.save(folder / "work.npy", np.zeros((2, 3), dtype=np.float32))
    for item in ("work.mid", "work.npy"):
        audio, page = preview(folder / item)
        assert audio is None and "work.mid: not a readable MIDI file" in page
        assert str(tmp_path) not in page


# --- classify -----------------------------------------------------------------------------------
def test_classify_a_file_with_edited_prompts(context, scores):
    classes, probabilities, names = classify.classify(context, str(scores[0]), "jig\nreel, air\njig", "{}, a fiddle tune\n{}")
    assert classes == ["jig", "reel", "air"] and probabilities.shape == (1, 3)
    assert abs(probabilities.sum() - 1) < 1e-5 and names == [scores[0].name]
    figure = classify.chart(classes, probabilities)
    assert sorted(figure.data[0].y) == sorted(classes)


def test_classify_a_library_selection(context):
    classes, probabilities, names = classify.classify(context, None, "north\nsouth", "{}", field="region", value="Tyrol")
    assert probabilities.shape == (4, 2) and all(n.startswith("Tune <") for n in names)
    assert "&lt;" in classify.per_item_table(classes, probabilities, names)


@pytest.mark.parametrize(("classes", "templates", "message"), [
    ("only one", "{}", "at least two classes"),
    ("a\nb", "no placeholder", "has no {} where the class goes"),
])
def test_classify_refuses_bad_prompts(context, scores, classes, templates, message):
    with pytest.raises(Clamp3Error, match=message):
        classify.classify(context, str(scores[0]), classes, templates)


def test_too_many_prompts_are_refused_before_any_is_encoded(context, monkeypatch):
    """Issue 16: /classify with 1,000 classes x 10 templates encoded every prompt (~89 s under the
    model lock) before being refused."""
    encoded = []
    monkeypatch.setattr(context.embedder, "encode_texts", lambda texts: encoded.append(len(texts)))
    classes = "\n".join(f"class {i}" for i in range(1000))
    templates = "\n".join(f"{{}} number {i}" for i in range(10))
    with pytest.raises(Clamp3Error, match=r"1000 classes make 10000 prompts, over the limit of 200"):
        classify.classify(context, None, classes, templates, field="region", value="Alsace")
    assert encoded == []


def test_a_capped_selection_says_how_much_it_cut(context, monkeypatch):
    """Issue 18: classify of region=China used 500 of 1,393 items and did not say so."""
    monkeypatch.setattr(classify, "MAX_SELECTION", 3)
    _, probabilities, names = classify.classify(context, None, "north\nsouth", "{}", field="region", value="Tyrol")
    assert len(names) == len(probabilities) == 3
    assert classify.cap_note(context, "region", "Tyrol", 3) == \
        "used 3 of 4 items with region = Tyrol (the first added; the cap CLAMP3_MAX_CLASSIFY_ITEMS=3)"
    monkeypatch.setattr(classify, "MAX_SELECTION", 4)
    assert classify.cap_note(context, "region", "Tyrol", 4) == ""  # nothing cut, nothing said


def test_every_preset_has_classes_and_templates_with_a_slot():
    for classes, templates in classify.PRESETS.values():
        assert len(classes) >= 2 and all("{}" in t for t in templates)


# --- map ----------------------------------------------------------------------------------------
def test_map_pins_a_query_near_its_neighbours_and_exports_a_selection(context):
    from clamp3.library.maps import library_map

    rows, points = library_map(context.library, None, center=False)
    assert points.shape == (12, 2) and np.isfinite(points).all()
    assert list(context.index.glob("map-*-all-n.npz"))  # cached for the next start
    pins = maps.pin(context, rows, points, "a folk song", None, top=3)
    (label, xy, nearest), = pins
    assert label == "a folk song"
    assert points[:, 0].min() <= xy[0] <= points[:, 0].max() and points[:, 1].min() <= xy[1] <= points[:, 1].max()
    # issue 20: the query's best matches ringed on the map, the same as search finds
    best = [h.id for h in search.search(context, "a folk song", None, k=3, modality="scores and MIDI").hits]
    assert [rows[i].id for i in nearest] == best
    figure = maps.figure(rows, points, "region", pins)
    assert figure.data[-1].marker.symbol == "star" and all("<" not in t for trace in figure.data[:-1] for t in trace.text)
    assert figure.data[-2].name == "top 3: a folk song" and list(figure.data[-2].customdata) == best
    keep = maps.select(rows, points, "region", ["Alsace"], None)
    assert len(keep) == 4
    out = maps.export_csv(context, rows, points, keep, "region")
    lines = out.read_text().splitlines()
    assert lines[0].startswith("id,x,y,title") and len(lines) == 5 and all(",Alsace," in line for line in lines[1:])


def test_a_map_export_with_the_default_boxes_selects_everything_with_every_shown_field(context):
    """Issue 18, bug 2: the x/y boxes showed 0 and were read as a 0..0 box, so Export with the
    defaults said "the selection is empty"; the CSV held only the colour field."""
    import csv as csv_module

    from clamp3.library.maps import library_map

    rows, points = library_map(context.library, None, center=False)
    assert maps.selection_box("", None, " ", "") is None  # the defaults: no box
    assert maps.selection_box("0", "", "", "") == (0.0, np.inf, -np.inf, np.inf)  # a typed 0 is a bound
    with pytest.raises(Clamp3Error, match="'abc' in 'y to' is not a number"):
        maps.selection_box("", "", "", "abc")
    with pytest.raises(Clamp3Error, match="not a number"):
        maps.selection_box("nan", "", "", "")
    keep = maps.select(rows, points, "modality", [], maps.selection_box("", "", "", ""))
    assert len(keep) == len(rows)
    out = maps.export_csv(context, rows, points, keep, "modality")
    table = list(csv_module.DictReader(out.open(encoding="utf-8")))
    assert len(table) == len(rows) and "region" in table[0] and "split" not in table[0]
    assert {"Alsace", "Tyrol"} <= {r["region"] for r in table} and all("/" not in r["file"] for r in table)


def test_map_legends_and_titles_are_escaped(context, tmp_path):
    """Issue 16: metadata values reached the legend (and `clamp3 map --out map.html`) as live HTML."""
    from dataclasses import replace

    from clamp3.analysis import write_map
    from clamp3.library.maps import library_map

    rows, points = library_map(context.library, None, center=False)
    hostile = '<a href="https://x.example">click</a><b>'
    rows = [replace(r, title=hostile, metadata={**r.metadata, "region": hostile}) for r in rows]
    names = [trace.name for trace in maps.figure(rows, points, "region").data]
    assert names and all("<" not in name for name in names)
    # quotes stay quotes: plotly would show an escaped one as the entity ("Ulrich" hovered as &quot;Ulrich&quot;)
    quoted = [replace(r, title='"Ulrich" <i>') for r in rows]
    texts = {t for trace in maps.figure(quoted, points, "region").data for t in (trace.text or ())}
    assert texts == {'"Ulrich" &lt;i&gt;'}
    write_map(points, rows, "region", tmp_path / "map.html")
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert hostile not in page and '\\u003ca href' not in page and "&lt;a href" in page


def test_a_value_has_the_same_colour_in_the_app_map_and_in_clamp3_map(context, tmp_path):
    """Issue 18: the app's map and `clamp3 map --out map.html` took plotly's colours in the order of
    their traces (by count in one, by name in the other), so a value changed colour between them."""
    from dataclasses import replace

    from clamp3.analysis import MAP_OTHER_COLOR, MAP_PALETTE, map_figure, write_map
    from clamp3.library.maps import library_map

    rows, points = library_map(context.library, None, center=False)
    # 30 values of unequal counts (more than the palette holds) and items without the field
    rows = [replace(r, metadata={**r.metadata, "region": f"r{i % 30 if i < 40 else i % 5}"}) for i, r in enumerate(rows * 5)]
    rows[0] = replace(rows[0], metadata={k: v for k, v in rows[0].metadata.items() if k != "region"})
    points = np.concatenate([points] * 5)

    def colours(figure) -> dict[str, str]:
        return {re.search(r"<extra>(.*)</extra>", t.hovertemplate).group(1): t.marker.color for t in figure.data}

    app, cli = colours(maps.figure(rows, points, "region")), colours(map_figure(points, rows, "region"))
    assert len(cli) == 31 and "(none)" in cli and app["other"] == MAP_OTHER_COLOR
    shown = {value: colour for value, colour in app.items() if value != "other"}
    assert len(shown) == len(MAP_PALETTE) and set(shown.values()) == set(MAP_PALETTE)  # one colour each
    assert all(cli[value] == colour for value, colour in shown.items())
    assert all(colour == MAP_OTHER_COLOR for value, colour in cli.items() if value not in shown)
    write_map(points, rows, "region", tmp_path / "map.html")
    page = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert all(f'"color":"{colour}"' in page for colour in MAP_PALETTE)


def test_no_server_folder_reaches_the_page_or_an_export(context, scores, tmp_path):
    """Issue 16: the Library report named the session's upload folder, the statistics the library's
    folder, and map exports held absolute paths under names guessable from the time."""
    from clamp3.library.maps import library_map

    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd\x00\x00\x00\x06 broken")
    report = library.add(context, [str(broken), str(scores[0])], "", "s", progress=False)
    assert "broken.mid: not a readable MIDI file" in report and str(context.home) not in report
    assert str(context.index) not in library.statistics(context)
    rows, points = library_map(context.library, None, center=False)
    out = maps.export_csv(context, rows, points, [0, 1], "region")
    assert re.fullmatch(r"map-selection-\d{8}-\d{6}-[0-9a-f]{16}-2\.csv", out.name)
    text = out.read_text()
    assert str(context.index) not in text and str(tmp_path) not in text and Path(rows[0].path).name in text


def test_a_read_only_app_writes_nothing_and_requests_are_bounded(context, scores, tmp_path):
    """Issue 16: with --read-only, training uploads were stored before the run was refused, and the
    map wrote UMAP caches into the library; exports were never removed; a request took any number of files."""
    import os

    from clamp3.library.maps import library_map

    (tmp_path / "pairs.jsonl").write_text("{}\n")
    context.read_only = True
    with pytest.raises(Clamp3Error, match="read-only"):
        train.Trainer(context).data_path(str(tmp_path / "pairs.jsonl"), "", "s")
    assert not (context.home / "uploads").exists() and not (context.home / "sessions").exists()
    rows, points = library_map(context.library, "symbolic", save=False)
    assert len(rows) == 12 and not list(context.index.glob("map-*"))
    context.read_only = False
    stale = context.home / "exports" / "map-selection-20000101-000000-0123456789abcdef-1.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    os.utime(stale, (0, 0))
    fresh = maps.export_csv(context, rows, points, [0], "region")
    assert fresh.exists() and not stale.exists()
    context.max_files = 2
    with pytest.raises(Clamp3Error, match="3 files in one request, over the limit of 2"):
        library.add(context, [str(p) for p in scores[:3]], "", "s", progress=False)
    with pytest.raises(Clamp3Error, match="3 files in one request"):
        compare.compare(context, [str(p) for p in scores[:3]], [str(p) for p in scores[3:5]])
    assert not (context.home / "uploads").exists() and not (context.home / "sessions").exists()


def _run_while_a_reader_is_held(context, monkeypatch, action):
    """Run ``action`` in a thread while the ABC reader is held up; assert the model lock is free
    meanwhile (another visitor's search gets the model), then return what ``action`` returned."""
    import threading

    from clamp3 import formats

    reading, release = threading.Event(), threading.Event()
    real = formats.READERS[".abc"]

    def slow_reader(path):
        reading.set()
        release.wait(60)
        return real(path)

    monkeypatch.setitem(formats.READERS, ".abc", slow_reader)
    answers = []
    worker = threading.Thread(target=lambda: answers.append(action()))
    worker.start()
    try:
        assert reading.wait(30)
        acquired = context.lock.acquire(timeout=30)
        assert acquired
        context.lock.release()
    finally:
        release.set()
        worker.join(60)
    assert len(answers) == 1
    return answers[0]


def test_reading_a_file_does_not_hold_the_model_lock(context, scores, monkeypatch):
    """Issue 16: all of a request's work (conversion, tokenising, decoding) ran under the one model
    lock, so one slow file stalled every visitor. A reader held up here must leave the lock free."""
    vector = _run_while_a_reader_is_held(context, monkeypatch, lambda: context.encode_file(scores[0]))
    assert vector.shape == (1, context.embedder.model.config.projection_size)


def test_adding_files_does_not_hold_the_model_lock(context, scores, monkeypatch):
    """Issue 16: the Library tab held the model lock for the whole add, reading and converting every
    file under it (50 files of 30 s each: every visitor waited 25 minutes)."""
    report = _run_while_a_reader_is_held(
        context, monkeypatch, lambda: library.add(context, [str(scores[0])], "", "visitor", progress=False)
    )
    assert report.startswith("added 1 items")
    assert len(context.session_library("visitor")) == 1


def test_a_file_lands_on_its_own_place_on_the_map(context):
    from clamp3.library.maps import library_map, place_on_map

    rows, points = library_map(context.library, None, center=False)
    vectors = context.library.vectors_of([r.id for r in rows])
    placed = place_on_map(vectors[3:4], vectors, points, k=1)
    assert np.allclose(placed[0], points[3])


# --- library ------------------------------------------------------------------------------------
def test_uploads_are_added_under_sanitised_names_in_the_session_folder(context, scores, tmp_path):
    odd = tmp_path / "..evil name;rm -rf.abc"
    shutil.copy(scores[0], odd)
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    report = library.add(context, [str(odd), str(tmp_path / "notes.docx")], "", "session-1", progress=False)
    assert "unsupported file type '.docx'" in report
    stored = list((context.home / "sessions" / "session-1" / "uploads").iterdir())
    # sanitised (no leading dots, spaces or ';'), with the hash of the original name that a changed name gets
    assert [p.name for p in stored] == [upload_name(odd.name)] and re.fullmatch(r"evil_name_rm_-rf-[0-9a-f]{8}\.abc", stored[0].name)
    assert [r.path for r in context.session_library("session-1").items()] == [str(stored[0])]


def test_an_upload_over_the_size_limit_is_refused_with_its_size(context, scores):
    context.max_upload_mb = 0.0001
    with pytest.raises(Clamp3Error, match=r"MB is over the upload limit of 0.0001 MB"):
        library.add(context, [str(scores[0])], "", "s", progress=False)
    with pytest.raises(InputError, match="over the upload limit"):
        search.search(context, "", str(scores[0]))


def test_a_link_inside_a_root_to_a_file_outside_is_not_read(context, scores, tmp_path):
    """Issue 16: only the folder given was resolved, so a file link inside a root was followed out of it."""
    inside = tmp_path / "root" / "music"
    inside.mkdir()
    shutil.copy(scores[0], inside / "good.abc")
    (tmp_path / "secret").mkdir()
    shutil.copy(scores[1], tmp_path / "secret" / "private.abc")
    (inside / "link.abc").symlink_to(tmp_path / "secret" / "private.abc")
    report = library.add(context, None, str(inside), "s", progress=False)
    assert report.startswith("added 1 items") and "link.abc: leads outside the allowed folders" in report
    own = context.session_library("s").items()
    assert len(own) == 1 and own[0].path.endswith("good.abc")
    assert str(tmp_path / "secret") not in report


def test_server_folders_only_under_the_allowed_roots(context, scores, tmp_path):
    inside = tmp_path / "root" / "music"
    inside.mkdir()
    shutil.copy(scores[1], inside / "one.abc")
    (tmp_path / "root" / "escape").symlink_to(tmp_path / "library")
    for outside in ("/etc", str(tmp_path / "root" / ".." / "library"), str(tmp_path / "root" / "escape")):
        with pytest.raises(Clamp3Error, match="outside the allowed folders"):
            library.add(context, None, outside, "s", progress=False)
    assert library.add(context, None, str(inside), "s", progress=False).startswith("added 1 items")
    context.roots = []
    with pytest.raises(Clamp3Error, match="server folders are off"):
        context.server_path(str(inside))


def test_list_filter_remove_and_statistics(context):
    context.shared_writable = True  # the operator's choice: the page changes the shared library
    rows = [item for _, item in library.listing(context, "", "region", "Tyrol", "")]
    assert len(rows) == 4
    assert len(library.listing(context, "symbolic", "", "", "tune <1")) == 3  # 1, 10, 11
    message = library.remove(context, f"{rows[0].id}, {rows[1].id} 999999")
    assert message == "removed 2 of 3 items" and len(context.library) == 10
    assert len(search.search(context, "x", None, k=50).hits) == 10  # the search sees the removal at once
    page = library.statistics(context)
    assert "<td>items</td><td>10</td>" in page and "region (most common)" in page
    with pytest.raises(Clamp3Error, match="whole numbers"):
        library.remove(context, "seven")


def test_a_read_only_app_changes_nothing(context, scores):
    context.read_only = True
    with pytest.raises(Clamp3Error, match="read-only"):
        library.add(context, [str(scores[0])], "", "s", progress=False)
    with pytest.raises(Clamp3Error, match="read-only"):
        library.remove(context, "1")
    assert len(context.library) == 12 and not (context.home / "sessions").exists()  # not even a visitor's own library


def test_safe_name():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name(".bashrc") == "bashrc" and safe_name("a b\u00e9.mid") == "a_b_.mid"


def test_uploads_keep_their_names_and_never_share_one(context, scores, tmp_path):
    """Issue 16: non-ASCII names were all stored as `_.abc` (the library then held one of two added
    files), and a long name lost its extension."""
    names = ["日本.abc", "中国.abc", "a b.abc", "a_b.abc"]
    uploads = []
    for number, (name, score) in enumerate(zip(names, scores)):
        (tmp_path / "in" / str(number)).mkdir(parents=True)
        uploads.append(tmp_path / "in" / str(number) / name)
        shutil.copy(score, uploads[-1])
    stored, failures = context.store_uploads([str(p) for p in uploads], "s")
    assert not failures and len({p.name for p in stored}) == len(uploads)
    assert [p.name for p in stored] == ["日本.abc", "中国.abc", upload_name("a b.abc"), "a_b.abc"]
    long = upload_name("x" * 300 + ".abc")
    assert long.endswith(".abc") and len(long.encode()) <= 200 and long != upload_name("x" * 301 + ".abc")
    report = library.add(context, [str(p) for p in uploads[:2]], "", "s2", progress=False)
    assert report.startswith("added 2 items")


# --- compare ------------------------------------------------------------------------------------
def test_compare_warns_when_a_set_is_too_small_for_the_distance(context, scores):
    """Issue 18: 3 items in 384 dimensions got a Fréchet distance with no word that its covariance is singular."""
    dim = context.embedder.model.config.projection_size
    result = compare.compare(context, [str(p) for p in scores[:3]], [str(p) for p in scores[3:6]], bootstrap=0)
    assert result["warning"].startswith(f"too few files for the Fréchet distance to mean much: 3 in a set, and its "
                                        f"covariance needs at least {dim + 1}")


def test_compare_two_sets(context, scores, tmp_path):
    result = compare.compare(context, [str(p) for p in scores[:5]], [str(p) for p in scores[5:]], bootstrap=10)
    assert result["reference"] == 5 and result["compared"] == 7 and result["frechet_distance"] > 0
    assert -1 <= result["group_similarity"] <= 1 and result["ci95"][0] <= result["ci95"][1]
    same = compare.compare(context, [str(p) for p in scores[:6]], [str(p) for p in scores[:6]], bootstrap=0)
    assert abs(same["frechet_distance"]) < 1e-4 and same["group_similarity"] > 0.9999
    (tmp_path / "broken.mid").write_bytes(b"MThd garbage")
    with pytest.raises(Clamp3Error, match=r"the compared set needs at least 2 readable files, it has 1 \(.*broken.mid"):
        compare.compare(context, [str(p) for p in scores[:3]], [str(scores[3]), str(tmp_path / "broken.mid")])


# --- train --------------------------------------------------------------------------------------
def test_train_tab_runs_read_music_only_from_the_data_folder_or_the_roots(context, tmp_path):
    """Issue 16: a JSONL given to the Train tab could name music anywhere on the server."""
    import os

    data = context.home / "uploads" / "s" / "pairs.jsonl"
    config = train.Trainer(context).config(data, tmp_path / "run", "symbolic", 1, 1e-4, 2, "cpu", 0.0)
    assert config.data_roots.split(os.pathsep) == [str(data.resolve().parent), *map(str, context.roots)]


def pairs_in_root(scores, root: Path, text: str) -> list[str]:
    """Pair lines for the scores copied into the allowed root (a run reads music only from there)."""
    lines = []
    for i, score in enumerate(scores):
        shutil.copy(score, root / score.name)
        lines.append(json.dumps({"id": str(i), "filepaths": [score.name], "analysis": f"{text} {i}"}))
    return lines


def test_train_tab_runs_the_cli_then_serves_the_new_model(context, scores, tmp_path):
    lines = pairs_in_root(scores[:8], tmp_path / "root", "tune number")
    (tmp_path / "root" / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    trainer = train.Trainer(context)
    data = trainer.data_path(None, str(tmp_path / "root" / "pairs.jsonl"), "s")
    out = context.home / "runs" / "r1"
    job = trainer.start(trainer.config(data, out, "symbolic", 2, 1e-3, 4, "cpu", 0.25))
    other = context.home / "runs" / "r2"
    with pytest.raises(Clamp3Error, match="a run is going on"):
        trainer.start(trainer.config(data, other, "symbolic", 2, 1e-3, 4, "cpu", 0.25))
    assert not other.exists()  # a refused start writes nothing
    deadline = time.time() + 240
    while job.running and time.time() < deadline:
        time.sleep(1)
    state, events, log = trainer.status()
    assert job.final() is not None, log
    assert state.startswith("finished") and any(e["event"] == "eval" for e in events)
    # the evaluation's set size beside its figures (8 pairs x 0.25: 2 held out), and the warning
    assert "evaluation on 2 held-out pairs" in state and "noise" in state
    assert len(train.curves(events).data) >= 2
    library.add(context, [str(scores[0])], "", "visitor", progress=False)
    before = context.weights
    line = context.serve(str(job.final()), poll=0.2)  # issue 19: the library is embedded in the background
    assert "in the background" in line and "the current model answers until then" in line
    assert context.weights == before or context.weights == str(job.final())  # (a fast fill may be done already)
    deadline = time.time() + 240
    while context.weights != str(job.final()):
        assert time.time() < deadline, "the new model never took over"
        time.sleep(0.2)
    assert context.base is not None and len(context.library) == 12 and context.coverage().complete
    hits = search.search(context, "tune number 3", None, k=3, session="visitor").hits
    assert len(hits) == 3 and context.weights == str(job.final())
    # the visitors' own libraries held the old model's vectors: gone with their sessions
    assert not any(h.own for h in hits) and not list((context.home / "sessions").iterdir()) and not context.sessions


def test_a_run_belongs_to_the_session_that_started_it(context, tmp_path, scores):
    """Issue 16: the Train tab's state was one for all clients: anyone read another's log (with server
    paths), stopped their run or loaded its result for everyone."""
    lines = pairs_in_root(scores, tmp_path / "root", "tune")
    (tmp_path / "root" / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    trainer = train.Trainer(context)
    out = context.home / "runs" / "alice-run"
    job = trainer.start(trainer.config(tmp_path / "root" / "pairs.jsonl", out, "symbolic", 10_000, 1e-4, 2, "cpu", 0.0), "alice")
    try:
        with pytest.raises(Clamp3Error, match=r"a run is going on \(another visitor's\)") as refused:
            trainer.start(trainer.config(tmp_path / "root" / "pairs.jsonl", context.home / "runs" / "bob", "symbolic", 1, 1e-4, 2, "cpu", 0.0), "bob")
        assert str(out) not in str(refused.value)
        assert trainer.status("bob") == ("no run yet", [], "") and trainer.stop("bob") == "no run of yours is going on"
        assert job.running
        time.sleep(2)
        state, _, log = trainer.status("alice")
        assert state.startswith("running") and "run alice-run" in state and str(context.home) not in state + log
        with pytest.raises(Clamp3Error, match="no finished run of yours"):
            trainer.finished("bob")
    finally:
        assert "stopped" in trainer.stop("alice")
    assert not job.running


def wait_for(condition, seconds: float = 240) -> None:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.5)


def long_run_config(trainer, scores, tmp_path: Path, out: Path):
    """A run of 10,000 epochs on the scores (copied into the allowed root), into ``out``."""
    lines = pairs_in_root(scores, tmp_path / "root", "tune")
    (tmp_path / "root" / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    return trainer.config(tmp_path / "root" / "pairs.jsonl", out, "symbolic", 10_000, 1e-4, 2, "cpu", 0.0)


def stepped(out: Path) -> bool:
    return any(e.get("event") == "step" for e in train.read_events(out / "metrics.jsonl"))


def test_train_tab_stops_a_run_and_says_the_truth_then_resumes_it(context, tmp_path, scores):
    """Issue 18 bug 6: Stop said "its last checkpoint resumes it" when none existed, and there was no Resume."""
    trainer = train.Trainer(context)
    out = context.home / "runs" / "long"
    job = trainer.start(long_run_config(trainer, scores, tmp_path, out))
    with pytest.raises(Clamp3Error, match="a run is going on"):
        trainer.resume()
    wait_for(lambda: stepped(out))
    said = trainer.stop()
    assert not job.running and trainer.stop() == "no run of yours is going on"
    step = max(e["step"] for e in train.read_events(out / "metrics.jsonl") if e.get("event") == "step")
    # a stop ends the run at a step with a checkpoint of that step (SIGTERM to the CLI), and says so
    assert said == f"stopped run long; step {step} of {job_total(out)}; its checkpoint at step {step}: Resume continues from it"
    assert trainer.status()[0].startswith(f"stopped: run long; step {step} of")
    resumed = trainer.resume()
    try:
        wait_for(lambda: max(e["step"] for e in train.read_events(out / "metrics.jsonl") if e.get("event") == "step") > step)
        steps = [e["step"] for e in train.read_events(out / "metrics.jsonl") if e.get("event") == "step"]
        assert steps == list(range(1, len(steps) + 1)) and len(steps) > step  # continued, not restarted
        assert "resumed: clamp3 train" in trainer.status()[2]
    finally:
        trainer.stop()
    assert not resumed.running


@pytest.fixture(autouse=True)
def no_run_outlives_its_test():
    """A failing test stops its runs all the same (each in a session of its own, they would go on)."""
    yield
    train.stop_every_run()


def test_the_apps_exit_stops_its_runs_with_a_checkpoint(context, tmp_path, scores):
    """A run goes on in a session of its own: when the app ended (Ctrl-C, a Space stopped), it went on
    using the cores with no page left to stop it. The app's exit hook stops every run as Stop does."""
    trainer = train.Trainer(context)
    out = context.home / "runs" / "left"
    job = trainer.start(long_run_config(trainer, scores, tmp_path, out), "alice")
    wait_for(lambda: stepped(out))
    assert job.running and train.stop_every_run() == 1
    assert not job.running and job.process.returncode == 0 and (out / "checkpoint.pt").exists()
    assert trainer.status("alice")[0].startswith("stopped: run left; step ")
    assert train.stop_every_run() == 0


def ended(pid: int) -> bool:
    """The process is gone or a zombie (its new parent has not reaped it yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_run_whose_app_was_killed_stops_itself(context, tmp_path, scores):
    """An app killed outright (SIGKILL, a crash) runs no exit hook: the run sees its parent gone and
    stops itself as Stop would, with a checkpoint."""
    import os
    import signal
    import subprocess
    from dataclasses import asdict

    import yaml

    from clamp3.cli.train import PARENT_VARIABLE

    out = tmp_path / "orphan"
    out.mkdir()
    config = long_run_config(train.Trainer(context), scores, tmp_path, out)
    (out / "config.yaml").write_text(yaml.safe_dump(asdict(config)))
    # a stand-in for the app: it starts the run as the Train tab does, then waits to be killed
    app = textwrap.dedent(f"""
        import os, subprocess, sys, time
        run = subprocess.Popen([sys.executable, "-m", "clamp3.cli", "train", "clamp3", "--config", {str(out / "config.yaml")!r}, "-q"],
                               start_new_session=True, stdout=open({str(out / "train.log")!r}, "w"), stderr=subprocess.STDOUT,
                               env=dict(os.environ, {PARENT_VARIABLE}=str(os.getpid())))
        print(run.pid, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", app], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    try:
        wait_for(lambda: stepped(out))
        assert stepped(out), (out / "train.log").read_text()
        parent.kill()
        parent.wait()
        wait_for(lambda: ended(pid), seconds=120)
        assert ended(pid)
    finally:
        parent.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    log = (out / "train.log").read_text()
    assert "the process that started this run" in log and "has ended: stopping" in log, log
    assert (out / "checkpoint.pt").exists() and "killed" not in log


def test_stop_before_a_checkpoint_says_there_is_none(context, tmp_path):
    """A run killed before its first checkpoint has nothing to resume, and the page says so."""
    out = tmp_path / "run"
    out.mkdir()
    events = [{"event": "step", "step": s, "total": 500, "loss": 1.0} for s in (1, 2, 3)]
    (out / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    job = train.Job(None, out, out / "train.log", 0.0, "o", "clamp3", 100, stopped=True)
    trainer = train.Trainer(context)
    assert trainer.resumable(job) == (False, "step 3 of 500, no checkpoint saved yet (one every 100 steps and at a stop): "
                                             "nothing to resume; Start begins again")
    (out / "checkpoint.pt").write_bytes(b"")
    assert trainer.resumable(job) == (True, "step 3 of 500; its checkpoint at an unknown step: Resume continues from it")


def job_total(out: Path) -> int:
    return [e for e in train.read_events(out / "metrics.jsonl") if e.get("event") == "step"][-1]["total"]


def test_a_run_is_found_again_by_its_browser_token_and_only_by_it(context):
    """Issue 18 bug 6: a reload (a new gradio session) lost the run; runs are kept by a token the
    server minted and the browser keeps; a token the server did not mint is replaced, not trusted."""
    trainer = train.Trainer(context)
    mine = trainer.owner("")
    assert trainer.owner(mine) == mine and re.fullmatch(r"[A-Za-z0-9_-]{32}", mine)
    for forged in ("x" * 32, "../../etc", None, 5, mine + "a"):
        assert trainer.owner(forged) not in (mine, forged)


def test_evaluation_shows_its_set_size_and_warns_when_it_is_small():
    """Issue 18 bug 6: MRR 1.0 on one held-out pair was shown as if it meant something."""
    small = [{"event": "eval", "epoch": 1, "mrr": 1.0, "hit@1": 1.0, "hit@10": 1.0, "pairs": 1}]
    note = train.evaluation_note(small)
    assert "evaluation on 1 held-out pairs: MRR 1.000" in note and "noise" in note
    large = [{"event": "eval", "epoch": 1, "mrr": 0.5, "hit@1": 0.4, "hit@10": 0.9, "pairs": 64}]
    assert "on 64 held-out pairs" in train.evaluation_note(large) and "noise" not in train.evaluation_note(large)


def test_train_data_upload_must_be_pairs(context, tmp_path):
    (tmp_path / "x.exe").write_bytes(b"MZ")
    trainer = train.Trainer(context)
    with pytest.raises(Clamp3Error, match=r"x.exe: unsupported file type"):
        trainer.data_path([str(tmp_path / "x.exe")], "", tmp_path / "run" / "data")
    (tmp_path / "a.abc").write_text("X:1\nK:C\nCDEF|\n")
    with pytest.raises(Clamp3Error, match=r"a.abc: training data is a .jsonl or .csv"):
        trainer.data_path([str(tmp_path / "a.abc")], "", tmp_path / "run" / "data")
    # stored in the run's own folder (not the session's, which a closed page removes) under a sanitised name
    (tmp_path / "my pairs;rm.jsonl").write_text('{"filepaths": ["a.abc"], "analysis": "a tune"}\n')
    stored = trainer.data_path([str(tmp_path / "my pairs;rm.jsonl")], "", tmp_path / "run" / "data")
    assert stored.parent == tmp_path / "run" / "data" and ";" not in stored.name
    assert stored.read_text().startswith("{")
    context.max_upload_mb = 1e-5
    with pytest.raises(Clamp3Error, match=r"is over the upload limit of 1e-05 MB"):
        trainer.data_path([str(tmp_path / "my pairs;rm.jsonl")], "", tmp_path / "run2" / "data")


def csv_pairs(scores, folder: Path) -> Path:
    """A CSV naming its music by relative paths under ``music/`` (as a user's own data would)."""
    lines = ["path,text"] + [f"music/{s.name},tune number {i}" for i, s in enumerate(scores)]
    (folder / "pairs.csv").write_text("\n".join(lines) + "\n")
    return folder / "pairs.csv"


def test_train_refuses_pairs_whose_music_is_missing_before_any_run(context, scores, tmp_path):
    """Issue 18 bug 6: a CSV with relative paths was accepted, its run failed a minute later with the
    reason only in the log."""
    table = csv_pairs(scores[:4], tmp_path)
    trainer = train.Trainer(context)
    with pytest.raises(Clamp3Error) as refused:
        trainer.begin([str(table)], "", "owner", "symbolic", 1, 1e-4, 2, "cpu", 0.0)
    message = str(refused.value)
    assert "\n" not in message and "4 of 4 pairs cannot be used, nothing started" in message
    assert f"pairs.csv:2: missing music file music/{scores[0].name}" in message and str(tmp_path) not in message
    assert not trainer.runs and not list((context.home / "runs").glob("*"))  # no run, nothing left behind
    # the same pairs with their music uploaded together: matched by file name, every pair usable
    data = trainer.data_path([str(table), *map(str, scores[:4])], "", tmp_path / "run" / "data")
    assert trainer.check_pairs(data, [data.parent]) == 4
    # one unreadable music file is named, with its line
    data = trainer.data_path([str(table), *map(str, scores[:3])], "", tmp_path / "run2" / "data")
    with pytest.raises(Clamp3Error, match=rf"1 of 4 pairs cannot be used.*:5: missing music file music/{scores[3].name}"):
        trainer.check_pairs(data, [data.parent])


def test_train_takes_the_example_zip(context, tmp_path):
    """The downloadable example is the layout the tab takes: a .zip of pairs and music, as it is."""
    archive = train.example_archive(tmp_path / "example")
    trainer = train.Trainer(context)
    data = trainer.data_path([str(archive)], "", tmp_path / "run" / "data")
    assert trainer.check_pairs(data, [data.parent]) == len(train.EXAMPLE_TUNES)
    # a second pairs file among the uploads is refused: which one to train on is not guessed
    (tmp_path / "more.csv").write_text("path,text\nmusic/reel1.abc,a reel\n")
    with pytest.raises(Clamp3Error, match=r"the uploads hold 2 pairs files"):
        trainer.data_path([str(archive), str(tmp_path / "more.csv")], "", tmp_path / "run2" / "data")


# --- /embed -------------------------------------------------------------------------------------
def test_embed_endpoint_returns_a_unit_vector(context, scores):
    import app

    result = app.embed(context, "", str(scores[0]))
    assert result["dim"] == len(result["vector"]) and abs(np.linalg.norm(result["vector"]) - 1) < 1e-4
    with pytest.raises(Clamp3Error, match="give a text or a file"):
        app.embed(context, "  ", None)



def test_handlers_hand_freed_memory_back_however_they_end(monkeypatch):
    """Issue 16: memory stayed high after heavy requests; every handler's end releases it (throttled)."""
    import gradio as gr

    from explorers import common

    released = []
    monkeypatch.setattr(common, "release_memory", lambda at_most_every: released.append(at_most_every))

    def fails():
        raise Clamp3Error("bad file")

    assert common.shown_errors(lambda: "page")() == "page"
    with pytest.raises(gr.Error, match="bad file"):
        common.shown_errors(fails)()
    assert released == [common.RELEASE_MEMORY_SECONDS] * 2


# --- issue 18: the Search tab -------------------------------------------------------------------
def test_the_input_chosen_to_search_by_wins_and_is_named(context, scores):
    by_text = search.search(context, "a folk song", str(scores[3]), k=3, by=search.BY_TEXT)
    by_file = search.search(context, "a folk song", str(scores[3]), k=3, by=search.BY_FILE)
    assert (by_text.by, by_text.query) == ("text", "a folk song") and (by_file.by, by_file.query) == ("file", scores[3].name)
    assert by_file.hits[0].path == str(scores[3]) and by_text.hits != by_file.hits
    with pytest.raises(Clamp3Error, match="drop a file first"):
        search.search(context, "a folk song", None, by=search.BY_FILE)
    assert "searched by text: <b>a folk song</b>" in search.status_line(by_text, "")


def test_a_query_nothing_fits_is_told_so(context, monkeypatch):
    from clamp3.library.fit import FitCalibration, calibrate_fit

    calibration = calibrate_fit(context.library, context.encode_texts, count=8)
    assert calibration.descriptions == 8 and calibration.threshold <= calibration.typical
    monkeypatch.setattr(search, "fit_calibration", lambda *a, **k: FitCalibration(0.5, 2.0, 8))  # nothing can reach 2
    answer = search.search(context, "energetic rock guitar solo", None, k=3)
    assert answer.no_fit.startswith("nothing in this library is close to your query (best score")
    assert "typical 0.500" in search.status_line(answer, "")
    monkeypatch.setattr(search, "fit_calibration", lambda *a, **k: FitCalibration(0.5, -2.0, 8))
    assert search.search(context, "a folk song", None, k=3).no_fit is None


def test_an_empty_library_has_no_fit_calibration_and_says_why(context, tmp_path, monkeypatch):
    """An empty library (a new space, before its first items) gives no descriptions: the fit thread
    used to fail on encoding none (ValueError) and left its version marked as being calibrated."""
    from clamp3.library import Library
    from clamp3.library.fit import calibrate_fit

    empty = Library(tmp_path / "empty", create=True)
    try:
        with pytest.raises(Clamp3Error, match="the library is empty"):
            calibrate_fit(empty, context.encode_texts)
        monkeypatch.setattr(context, "library", empty)
        assert search.fit_calibration(context, wait=True) is None
        assert not search._fits_running  # a later query may try again
    finally:
        empty.close()


def test_keyword_paging_download_and_links(context, tmp_path):
    answer = search.search(context, "a folk song", None, k=50, keyword="bohemia")
    assert len(answer.hits) == 4 and all(h.metadata["region"] == "Bohemia" for h in answer.hits)
    many = [h for _ in range(3) for h in search.search(context, "x", None, k=12).hits][:30]
    assert search.results_html(many, page=1).count("data-row=") == 5  # 30 hits, 25 a page
    assert search.page_line(30, 1) == "results 26-30 of 30"
    csv_path, json_path = search.export([h.to_dict() for h in answer.hits], tmp_path / "exports")
    for path in (csv_path, json_path):
        text = Path(path).read_text()
        assert str(Path(answer.hits[0].path).parent) not in text and Path(answer.hits[0].path).name in text
    link = search.search_link("Irish reel & jig", "audio", 60, "")
    assert link == "?q=Irish+reel+%26+jig&modality=audio&k=60"
    assert search.from_link({"q": "x" * 900, "modality": "<script>", "k": "99999"}) == ("x" * 500, "all", 500, "")
    assert search.from_link({"k": "ten"})[2] == 10


def test_a_page_opened_without_a_link_leaves_a_search_made_meanwhile_alone(context):
    """The page's load event restores a link's search (``?q=``). Without one it used to empty the
    result list's state, so a search typed before a slow page finished loading showed results whose
    play buttons did nothing (found by the first-visit browser test under load)."""
    import types

    import gradio as gr

    from explorers import search

    with gr.Blocks() as app:
        search.build(context, app)
    restore = next(f for f in app.fns.values() if f.name == "restore")
    outputs = restore.fn(types.SimpleNamespace(query_params={}))
    assert len(outputs) == len(restore.outputs) and all(o == gr.skip() for o in outputs)
    text, modality, k, keyword, status, *rest = restore.fn(types.SimpleNamespace(query_params={"q": "a jig", "k": "3"}))
    assert (text, modality, k) == ("a jig", "all", 3) and "a jig" in status


def test_more_like_an_item_and_a_steered_query(context):
    """Issue 20: a query steered by items of the library and by texts with weights; the page's boxes
    are read with one message for each bad part, and the app keeps serving."""
    from clamp3.retrieval import normalize

    item = context.library.items()[5]
    liked = search.search(context, "", None, k=3, steering=search.Steer.of(str(item.id))).hits
    assert liked[0].id == item.id and abs(liked[0].score - 1.0) < 1e-5
    steering = search.Steer.of(f"{item.id}", "a slow air", "a dance", 1.0, 2.0, 0.5, 0.25)
    answer = search.search(context, "a folk song", None, k=12, steering=steering)
    assert answer.query == f"a folk song like #{item.id} + a slow air - a dance" and answer.no_fit is None
    texts = context.encode_texts(["a folk song", "a slow air", "a dance"])
    expected = normalize(texts[0] + 2.0 * context.item_vector(item.id)[0] + 0.5 * texts[1] - 0.25 * texts[2])
    ids, matrix = context.library.matrix()
    scores = dict(zip(ids.tolist(), matrix @ expected))
    assert all(abs(h.score - scores[h.id]) < 1e-5 for h in answer.hits)
    for boxes, message in (((f"{item.id}, x",), "'x' is not an item's id"), (("123456",), "no item 123456 in the library"),
                           (("", "a jig", "", 0.0, 1.0, 0.0), "weights are all zero"),
                           (("", "a jig", "a jig", 1.0, 1.0, 1.0, 1.0), "cancel out")):
        with pytest.raises(Clamp3Error, match=message):
            search.search(context, "", None, k=3, steering=search.Steer.of(*boxes))
    with pytest.raises(Clamp3Error, match="whole number"):
        context.item_vector("3")


def test_the_classify_tab_writes_a_field_the_operator_allows_and_search_filters_by_it(context):
    """Issue 20: a classification of the library written into a field (operator's choice), which
    search then filters by; refused, with nothing written, without --shared-library-writable."""
    with pytest.raises(Clamp3Error, match="shared"):
        classify.write(context, "jig\nreel", "{}", 0.02, "", "", "tune_guess")
    assert "tune_guess" not in context.fields()
    context.shared_writable = True
    line = classify.write(context, "jig\nreel", "{}", 0.02, "region", "Bohemia", "tune_guess")
    assert line.startswith("wrote 'tune_guess' (and 'tune_guess_probability') of 4 items")
    assert {"tune_guess", "tune_guess_probability"} <= set(context.fields())
    value = context.field_values("tune_guess")[0]
    hits = search.search(context, "a folk song", None, k=10, field="tune_guess", value=value).hits
    assert hits and all(h.metadata["tune_guess"] == value and h.metadata["region"] == "Bohemia" for h in hits)
    with pytest.raises(Clamp3Error, match="cannot be a field to write"):
        classify.write(context, "jig\nreel", "{}", 0.02, "", "", "split")


def test_a_map_selection_is_checked_saved_searched_within_compared_classified_and_zipped(context, monkeypatch):
    """Issue 20: the ids a box or lasso sends are checked (whole numbers of the shared library, at
    most MAX_SELECTED); a selection saved under a name is searched within, compared with another,
    classified, and downloaded as a zip of its files with a playlist and its metadata."""
    import zipfile

    from explorers import compare

    rows = context.library.items()
    ids = [r.id for r in rows]
    assert maps.selection(context, ids[:5] + [10**9]) == ids[:5]  # an id no longer there is dropped
    for bad in ("1,2", [1, "2"], [True], [1.5], [2**63], [-1], list(range(maps.MAX_SELECTED + 1))):
        with pytest.raises(Clamp3Error, match="a selection is a list"):
            maps.selection(context, bad)
    with pytest.raises(Clamp3Error, match="the selection is empty"):
        maps.selected_rows(context, [])
    assert "5 items selected" in maps.selection_html(maps.selected_rows(context, ids[:5]))

    with pytest.raises(Clamp3Error, match="the selection is empty"):
        context.save_set("s1", "none", [])
    with pytest.raises(Clamp3Error, match="name the selection"):
        context.save_set("s1", "  ", ids[:3])
    with pytest.raises(Clamp3Error, match="'a=b' cannot name a set"):
        context.save_set("s1", "a=b", ids[:3])
    assert context.save_set("s1", "first  five", ids[:5]) == (5, False) and context.saved_names("s1") == ["first five"]
    assert context.saved_names("s2") == []  # one session's selections are its own
    assert context.library.sets() == {}  # the shared library is not changed from the page: the session keeps it
    hits = search.search(context, "a folk song", None, k=10, session="s1", within="first five").hits
    assert len(hits) == 5 and {h.id for h in hits} == set(ids[:5])
    # re-imported as a filter: the field set:NAME = yes, as the library's own sets (the Search tab's field filter)
    assert "set:first five" in context.fields("s1") and "set:first five" not in context.fields("s2")
    hits = search.search(context, "a folk song", None, k=10, field="set:first five", value="yes", session="s1").hits
    assert {h.id for h in hits} == set(ids[:5])
    hits = search.search(context, "a folk song", None, k=10, field="set:first five", value="yes", session="s2").hits
    assert hits == []  # another session has no such selection: nothing has the field
    both = search.search(context, "a folk song", None, k=10, session="s1", field="region", value=REGIONS[0], within="first five").hits
    assert {h.id for h in both} == {r.id for r in rows[:5] if r.metadata["region"] == REGIONS[0]}
    # and on the map: its members have the field, to colour and export by (the shared rows unchanged)
    tagged = maps.with_sets(rows, context.session_sets("s1"))
    assert maps.color_values(tagged, "set:first five") == ["yes"] * 5 + ["(none)"] * (len(rows) - 5)
    assert all("set:first five" not in r.metadata for r in rows)
    with pytest.raises(Clamp3Error, match="no saved selection"):
        search.search(context, "a folk song", None, k=10, session="s2", within="first five")

    result = compare.compare_vectors(context.library.vectors_of(ids[:5]), context.library.vectors_of(ids[5:]))
    assert result["reference"] == 5 and result["compared"] == len(ids) - 5 and "too few" in result["warning"]

    out = maps.export_zip(context, maps.selected_rows(context, ids[:4]), "s1")
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        playlist = archive.read("playlist.m3u").decode()
        table = archive.read("selection.csv").decode()
    music = [n for n in names if n.startswith("music/")]
    assert len(music) == 4 and all(n in playlist for n in music) and playlist.startswith("#EXTM3U")
    assert all(str(context.index) not in text for text in (playlist, table))  # no server folder
    assert out.parent == context.export_folder("s1")
    monkeypatch.setattr(maps, "MAX_EXPORT_FILES", 3)
    with pytest.raises(Clamp3Error, match="a zip holds at most 3"):
        maps.export_zip(context, maps.selected_rows(context, ids[:4]), "s1")
    monkeypatch.setattr(maps, "MAX_EXPORT_FILES", 2000)
    monkeypatch.setattr(maps, "MAX_EXPORT_BYTES", 2**20 // 100)  # the files' size, checked before anything is written
    with pytest.raises(Clamp3Error, match=r"the selection's files take 0 MB, over the limit of 0 MB"):
        maps.export_zip(context, maps.selected_rows(context, ids), "s1")
    assert [p.name for p in context.export_folder("s1").glob("*")] == [out.name]  # the earlier zip left as it was
    monkeypatch.setattr(maps, "MAX_EXPORT_BYTES", 50 * 2**20)
    second = maps.export_zip(context, maps.selected_rows(context, ids[:2]), "s1")
    assert [p.name for p in context.export_folder("s1").glob("selection-*.zip")] == [second.name]  # one zip a session
    with pytest.raises(Exception, match="no item with the id"):
        context.library.vectors_of([ids[0], 10**9])  # (a stale id: no neighbour's vector instead)
    context.end_session("s1")
    assert context.saved_names("s1") == []


def test_a_selection_saved_where_the_page_may_change_the_library_is_a_named_set_of_it(tiny_model_dir, library_dir, tmp_path):
    """Issue 20: with --shared-library-writable (the operator's own library) "Save the selection"
    tags the library itself (one version a save; saved again under its name, replaced): the field
    set:NAME = yes, which search filters by here and in the CLI; a read-only app keeps it per session."""
    from clamp3 import Library

    copy = tmp_path / "library"
    shutil.copytree(library_dir, copy)
    context = Context.load(str(tiny_model_dir), str(copy), home=str(tmp_path / "home"), read_only=False, shared_writable=True)
    ids = [r.id for r in context.library.items()]
    version = context.library.version
    assert context.save_set("s1", "Alsace picks", ids[:4]) == (4, True)
    assert context.library.sets() == {"Alsace picks": 4} and context.library.version == version + 1
    assert context.saved_names("s2") == ["Alsace picks"] and context.saved_set("s2", "Alsace picks") == ids[:4]
    assert context.session_sets("s1") == {}  # in the library, not the session
    hits = search.search(context, "a folk song", None, k=10, field="set:Alsace picks", value="yes", session="s2").hits
    assert {h.id for h in hits} == set(ids[:4])
    assert {h.id for h in search.search(context, "a folk song", None, k=10, within="Alsace picks").hits} == set(ids[:4])
    assert context.save_set("s1", "Alsace picks", ids[2:6]) == (4, True) and context.library.version == version + 2
    assert [r.id for r in Library(copy, read_only=True).items(where={"set:Alsace picks": "yes"})] == ids[2:6]
    assert {h.id for h in search.search(context, "a folk song", None, k=10, within="Alsace   picks").hits} == set(ids[2:6])
    import explorers.context as context_module

    with pytest.MonkeyPatch.context() as patch:  # the page makes at most MAX_LIBRARY_SETS sets; a name in use replaces
        patch.setattr(context_module, "MAX_LIBRARY_SETS", 1)
        with pytest.raises(Clamp3Error, match="1 named sets"):
            context.save_set("s1", "another", ids[:1])
        assert context.save_set("s1", "Alsace picks", ids[:1]) == (1, True)
    context.library.close()

    read_only = Context.load(str(tiny_model_dir), str(copy), home=str(tmp_path / "home2"), read_only=True, shared_writable=True)
    assert read_only.save_set("s1", "mine", ids[:2]) == (2, False) and read_only.library.sets() == {"Alsace picks": 1}
    with pytest.raises(Clamp3Error, match="open read-only"):
        read_only.library.tag(ids[:2], "mine")


def test_a_large_map_draws_a_sample_and_a_box_or_lasso_selects_every_item_inside(context, monkeypatch):
    """Issue 20: above MAX_DRAWN points the map draws a seeded sample and says so; a box or a lasso
    (as plotly's selection events give them) selects every item inside, drawn or not."""
    rows = context.library.items()
    points = np.array([[i % 4, i // 4] for i in range(len(rows))], np.float32)  # a 4 x 3 grid
    monkeypatch.setattr(maps, "MAX_DRAWN", 5)
    figure = maps.figure(rows, points, "region")
    assert sum(len(t.x) for t in figure.data) == 5 and "(5 drawn, a sample)" in figure.layout.title.text
    assert sum(int(t.name.rsplit("(", 1)[1].rstrip(")")) for t in figure.data) == 12  # the legend counts every item
    box = maps.inside(points, {"box": {"x": [0.5, 2.5], "y": [-1, 1.5]}})
    assert np.flatnonzero(box).tolist() == [1, 2, 5, 6]
    lasso = maps.inside(points, {"lasso": {"x": [-0.5, 2, -0.5], "y": [-0.5, -0.5, 2]}})  # a triangle: x + y < 1.5
    assert np.flatnonzero(lasso).tolist() == [0, 1, 4]
    for bad in ({"lasso": {"x": [0, 1], "y": [0, 1]}}, {"box": {"x": "ab"}}, {"lasso": {"x": [0, 1, 2], "y": [0]}},
                {"lasso": {"x": list(range(maps.MAX_LASSO_CORNERS + 1)), "y": list(range(maps.MAX_LASSO_CORNERS + 1))}},
                {"lasso": {"x": [0, 1, float("nan")], "y": [0, 1, 2]}}, {"box": {"x": [0, 10**400], "y": [0, 1]}}):
        with pytest.raises((Clamp3Error, KeyError, TypeError, ValueError, OverflowError)):
            maps.inside(points, bad)
