"""Passage search (issue 20): windows of a score embedded on their own; a query finds the piece and
the bars where it matches. The planted test: a known tune concatenated into the middle of an
unrelated piece is found, with the right bar range, by a query made from the known tune."""

from __future__ import annotations

import json

import pytest

from clamp3.formats.base import Item
from clamp3.passages import score_windows, split_score

HEADER = "X:1\nL:1/8\nM:{metre}\nK:{key}\nV:1 treble\n"


def tune(bars: list[str], metre: str = "4/4", key: str = "D") -> str:
    return HEADER.format(metre=metre, key=key) + "".join(f"[V:1]{bar}|\n" for bar in bars)


# the known tune (8 bars) and an unrelated piece (32 bars of another shape) it is planted into
KNOWN = ["d2fd Adfd", "cege Aceg", "fdAF DFAd", "c2ec A2ce", "d2fd Adfd", "gfed cBAG", "FAdf ecAc", "d4 D4"]
OTHER = [f"{note}4 {note}2 z2" for note in "CEGCEGcEGCEGcEGC" * 2]


def test_windows_carry_the_key_metre_and_length_an_inline_field_changed():
    text = tune(["A4 B4", "[K:G][M:3/4]G2 A2 B2", "c2 d2 e2", "f6", "g6"], key="D")
    header, bars = split_score(text)
    assert header[-1].startswith("V:1") and len(bars) == 5
    windows = score_windows(Item(None, "t", "abc", text), bars=2, hop=2)
    assert [(w.first, w.last) for w in windows] == [(1, 2), (3, 4), (4, 5)]  # the last one ends with the piece
    third = windows[1].item.data
    assert "K:G" in third and "M:3/4" in third and "K:D" not in third and third.index("M:3/4") < third.index("K:G")
    assert windows[0].label == "bars 1-2" and score_windows(Item(None, "m", "mtf", "x"), 2, 2) == []
    with pytest.raises(ValueError):
        score_windows(Item(None, "t", "abc", text), bars=0, hop=1)


def test_a_tune_planted_in_another_piece_is_found_at_its_bars(tmp_path, tiny_model_dir, capsys):
    from clamp3.cli import main

    music = tmp_path / "music"
    music.mkdir()
    (music / "planted.abc").write_text(tune(OTHER[:16] + KNOWN + OTHER[16:]), encoding="utf-8")  # the tune at bars 17-24
    (music / "other.abc").write_text(tune(OTHER), encoding="utf-8")
    (music / "elsewhere.abc").write_text(tune([f"{n}2 {n}2 {n}2 {n}2" for n in "ABcdefgaABcdefga"], key="G"), encoding="utf-8")
    query = tmp_path / "query.abc"
    query.write_text(tune(KNOWN), encoding="utf-8")
    weights, lib = ["--weights", str(tiny_model_dir)], str(tmp_path / "lib")
    assert main(["index", "add", str(music), "--index", lib, *weights, "-q"]) == 0
    refused = main(["search", str(query), "--index", lib, "--passages", *weights])
    assert refused != 0 and "no passages" in capsys.readouterr().err
    assert main(["index", "passages", "--index", lib, *weights, "-q"]) == 0
    assert "windows embedded: scores 8 bars every 4, MIDI and audio 20 s every 5" in capsys.readouterr().err
    assert main(["search", str(query), "--index", lib, "--passages", "--json", *weights]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["name"] == "planted" and hits[0]["passage"] == {"first_bar": 17, "last_bar": 24}
    assert hits[0]["score"] == pytest.approx(1.0, abs=5e-3)  # the window is the tune itself (stored as 8-bit codes)
    assert len(hits) == 3 and len({h["id"] for h in hits}) == 3  # one hit an item, at its best window
    assert main(["search", str(query), "--index", lib, "--passages", *weights]) == 0
    assert "(bars 17-24)" in capsys.readouterr().out.splitlines()[0]
    # a second build has nothing to do; an item added later gets its windows from the next one
    assert main(["index", "passages", "--index", lib, *weights, "-q"]) == 0
    assert "0 windows" in capsys.readouterr().err


def test_the_search_tab_finds_passages_and_plays_the_bars_it_found(tmp_path, tiny_model_dir):
    import sys
    from pathlib import Path

    from clamp3 import Embedder, Library, load_model
    from clamp3.errors import Clamp3Error
    from clamp3.passages import build_passages

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from explorers import search
    from explorers.common import preview
    from explorers.context import Context

    music = tmp_path / "music"
    music.mkdir()
    (music / "planted.abc").write_text(tune(OTHER[:16] + KNOWN + OTHER[16:]), encoding="utf-8")
    (music / "other.abc").write_text(tune(OTHER), encoding="utf-8")
    model = load_model(tiny_model_dir)
    library = Library.open(tmp_path / "lib", model=model, create=True)
    library.add([music], Embedder(model), progress=False)
    context = Context.load(str(tiny_model_dir), str(tmp_path / "lib"), home=str(tmp_path / "home"), read_only=False)
    try:
        query = tmp_path / "query.abc"
        query.write_text(tune(KNOWN), encoding="utf-8")
        with pytest.raises(Clamp3Error, match="has no passages"):
            search.search(context, "", str(query), k=2, passages=True)
        build_passages(library, Embedder(model), progress=False)
        answer = search.search(context, "", str(query), k=2, passages=True)
        assert answer.hits[0].name == "planted" and answer.hits[0].passage == (17, 24)
        assert "(bars 17-24)" in search.results_html(answer.hits)
        stored = answer.hits[0].to_dict()
        assert search.found_of(stored).passage == (17, 24)  # as the page's state keeps it
        (rate, wave), shown = preview(answer.hits[0].path, answer.hits[0].name, (17, 24))
        assert "bars 17-24" in shown and "<svg" in shown and len(wave) > rate  # engraved and played from bar 17
        # issue 20: a set of the library keeps passages to its members; a session's own selection is refused in a line
        library.tag([answer.hits[1].id], "the other")
        assert [h.name for h in search.search(context, "", str(query), k=2, passages=True, within="the other").hits] == ["other"]
        context.save_set("s1", "planted only", [answer.hits[0].id])
        with pytest.raises(Clamp3Error, match="not to a selection saved for this session only"):
            search.search(context, "", str(query), k=2, passages=True, session="s1", within="planted only")
    finally:
        context.maps.close()


# --- MIDI and audio: windows by time --------------------------------------------------------------
TICKS = 480  # a beat; at MIDI's default 120 beats a minute, half a second
BACKGROUND = [36, 40, 43, 48] * 15  # 60 beats: 30 s of an unrelated pattern
MELODY = [74, 78, 81, 79, 76, 74, 73, 76, 81, 83, 81, 78, 79, 76, 74, 71, 69, 71, 73, 74] * 2  # 40 beats: 20 s


def write_midi(path, pitches: list[int], program: int = 0) -> None:
    """One note a beat at 120 beats a minute, with an explicit tempo and program at time 0."""
    import mido

    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0), mido.Message("program_change", program=program, time=0)])
    for pitch in pitches:
        track += [mido.Message("note_on", note=pitch, velocity=80, time=0), mido.Message("note_off", note=pitch, velocity=0, time=TICKS)]
    midi = mido.MidiFile(ticks_per_beat=TICKS)
    midi.tracks.append(track)
    midi.save(path)


def test_midi_and_audio_windows_lie_in_time_and_carry_what_holds_at_their_start(tmp_path):
    import numpy as np

    from clamp3.formats import read_items
    from clamp3.passages import feature_windows, item_windows, midi_windows

    write_midi(tmp_path / "piece.mid", BACKGROUND[:40], program=5)  # 20 s
    item = read_items(tmp_path / "piece.mid")[0]
    windows = midi_windows(item, seconds=15, every=5)
    assert [(w.first, w.last) for w in windows] == [(0, 15), (5, 20)] and windows[1].label == "0:05-0:20"
    later = windows[1].item.data.splitlines()
    assert later[0] == f"ticks_per_beat {TICKS}" and "set_tempo 500000 0" in later and "program_change 0 0 5" in later
    assert later[3] == "note_on 0 0 43 80" and "note_off 0 0 40 0" not in later  # the first note (beat 10) at time 0, not the end of the one before
    assert sum(line.startswith("note_on") for line in later) == 30  # 15 s of one note a beat
    assert item_windows(item, {"bars": 8, "hop": 4, "seconds": 60, "every": 5})[0].last == 20  # shorter than a window: one
    features = np.arange(7 * 4, dtype=np.float32).reshape(7, 4)  # 7 rows of 5 s
    from clamp3.formats.base import Item

    cut = feature_windows(Item(None, "a", "features", features), seconds=15, every=10)
    assert [(w.first, w.last) for w in cut] == [(0, 15), (10, 25), (20, 35)]  # the last one ends with the recording
    assert np.array_equal(cut[1].item.data, features[2:5]) and cut[2].label == "0:20-0:35"
    assert [(w.first, w.last) for w in feature_windows(Item(None, "b", "features", features[:2]), 15, 5)] == [(0, 10)]


def test_a_tune_planted_in_midi_and_features_planted_in_audio_are_found_at_their_seconds(tmp_path, tiny_model_dir, capsys):
    import numpy as np

    from clamp3.cli import main

    music = tmp_path / "music"
    music.mkdir()
    write_midi(music / "planted.mid", BACKGROUND + MELODY + BACKGROUND)  # the melody from 0:30 to 0:50
    write_midi(music / "other.mid", BACKGROUND * 2 + BACKGROUND[:30])
    rng = np.random.default_rng(0)
    known = rng.standard_normal((4, 64)).astype(np.float32)  # 20 s of audio features (the tiny model's 64)
    np.save(music / "recording.npy", np.concatenate([rng.standard_normal((6, 64)), known, rng.standard_normal((6, 64))]).astype(np.float32))
    np.save(music / "another.npy", rng.standard_normal((15, 64)).astype(np.float32))
    (music / "score.abc").write_text(tune(OTHER), encoding="utf-8")
    write_midi(tmp_path / "melody.mid", MELODY)
    np.save(tmp_path / "known.npy", known)
    weights, lib = ["--weights", str(tiny_model_dir)], str(tmp_path / "lib")
    assert main(["index", "add", str(music), "--index", lib, *weights, "-q"]) == 0
    assert main(["index", "passages", "--index", lib, *weights, "-q"]) == 0
    capsys.readouterr()
    assert main(["search", str(tmp_path / "melody.mid"), "--index", lib, "--passages", "--modality", "symbolic", "--json", *weights]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["name"] == "planted" and hits[0]["passage"] == {"start_second": 30, "end_second": 50}
    assert {h["name"] for h in hits} == {"planted", "other", "score"}  # MIDI and scores side by side
    assert main(["search", str(tmp_path / "known.npy"), "--index", lib, "--passages", "--modality", "audio", *weights]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "recording" in first and "(0:30-0:50)" in first and " 1.00" in first  # the window is the features themselves


def test_windows_of_an_earlier_release_still_search_and_the_inverted_file_agrees_with_exact(tmp_path, tiny_model_dir):
    import numpy as np

    from clamp3 import Embedder, Library, load_model
    from clamp3.passages import SETTINGS_KEY, build_passages, decode_vectors, encode_vector, search_passages

    music = tmp_path / "music"
    music.mkdir()
    (music / "planted.abc").write_text(tune(OTHER[:16] + KNOWN + OTHER[16:]), encoding="utf-8")
    for n in range(6):
        (music / f"other{n}.abc").write_text(tune(OTHER[n:] + OTHER[:n], key="DGAEBF"[n]), encoding="utf-8")
    (music / "short.abc").write_text(tune(KNOWN[:6], key="A"), encoding="utf-8")  # no longer than a window
    model = load_model(tiny_model_dir)
    embedder = Embedder(model)
    library = Library.open(tmp_path / "lib", model=model, create=True)
    library.add([music], embedder, progress=False)
    assert build_passages(library, embedder, progress=False) == 9 + 6 * 7  # 40 bars, 32 bars: none for the short one
    short = next(item for item in library.items() if item.name == "short")
    assert library.db.execute("SELECT first, last, length(vector) FROM passages WHERE item_id = ?", (short.id,)).fetchall() == [(1, 6, 0)]
    itself = search_passages(library, library.vectors_of([short.id]), k=3, exact=True)[0][0]
    assert (itself.id, itself.passage_label) == (short.id, "bars 1-6") and itself.score == pytest.approx(1.0, abs=1e-5)  # its own vector
    query = embedder.encode_texts(["a tune"])[0][None]
    rows = library.db.execute("SELECT item_id, first, vector FROM passages WHERE last > 0 AND length(vector) > 0").fetchall()
    dim = library.matrix()[1].shape[1]
    codes = decode_vectors([r[2] for r in rows], dim)
    # the 8-bit codes against float32: the cosines they give
    unit = np.random.default_rng(0).standard_normal((50, dim)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    assert np.abs(decode_vectors([encode_vector(u) for u in unit], dim) @ unit.T - unit @ unit.T).max() < 5e-3
    exact = search_passages(library, query, k=5, exact=True)[0]
    # a library written by the release before: float32 windows, settings of bars only
    with library._transaction() as cursor:
        cursor.executemany("UPDATE passages SET vector = ? WHERE item_id = ? AND first = ?",
                           [(vector.tobytes(), r[0], r[1]) for r, vector in zip(rows, codes)])
        cursor.execute("UPDATE meta SET value = ? WHERE key = ?", (json.dumps({"bars": 8, "hop": 4}), SETTINGS_KEY))
        cursor.execute("DELETE FROM meta WHERE key = 'passages generation'")
    library.close()
    old = Library.open(tmp_path / "lib", read_only=True)
    again = search_passages(old, query, k=5, exact=True)[0]
    assert [(h.id, h.passage) for h in again] == [(h.id, h.passage) for h in exact]
    assert [h.score for h in again] == pytest.approx([h.score for h in exact], abs=1e-5)
    old.ann_threshold = 10  # the inverted file, against exact search (built in memory: the library is read-only)
    approximate = search_passages(old, query, k=5)[0]
    assert [(h.id, h.passage) for h in approximate] == [(h.id, h.passage) for h in exact]
    assert [h.score for h in approximate] == pytest.approx([h.score for h in exact], abs=5e-3)
    assert search_passages(old, old.vectors_of([short.id]), k=3)[0][0].id == short.id
    assert not (tmp_path / "lib" / "passages.faiss").exists()
    old.close()
    library = Library.open(tmp_path / "lib", model=model)
    assert build_passages(library, embedder, progress=False) == 0  # the scores' windows kept: their settings did not change


def test_the_search_tab_shows_the_seconds_of_a_midi_passage_and_plays_from_its_start(tmp_path, tiny_model_dir):
    import sys
    from pathlib import Path

    from clamp3 import Embedder, Library, load_model
    from clamp3.passages import build_passages

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from explorers import search
    from explorers.common import preview
    from explorers.context import Context

    music = tmp_path / "music"
    music.mkdir()
    write_midi(music / "planted.mid", BACKGROUND + MELODY + BACKGROUND)
    write_midi(music / "other.mid", BACKGROUND * 2)
    model = load_model(tiny_model_dir)
    library = Library.open(tmp_path / "lib", model=model, create=True)
    library.add([music], Embedder(model), progress=False)
    build_passages(library, Embedder(model), progress=False)
    context = Context.load(str(tiny_model_dir), str(tmp_path / "lib"), home=str(tmp_path / "home"), read_only=False)
    try:
        write_midi(tmp_path / "melody.mid", MELODY)
        answer = search.search(context, "", str(tmp_path / "melody.mid"), k=2, passages=True)
        hit = answer.hits[0]
        assert hit.name == "planted" and hit.passage == (30, 50) and hit.passage_unit == "seconds"
        assert "(0:30-0:50)" in search.results_html(answer.hits)
        stored = hit.to_dict()
        assert stored["passage"] == {"start_second": 30, "end_second": 50}
        assert search.found_of(stored).passage_label == "0:30-0:50"  # as the page's state keeps it
        (rate, wave), shown = preview(hit.path, hit.name, hit.passage, hit.passage_unit)
        assert "0:30-0:50" in shown and abs(len(wave) / rate - 20) < 0.5  # from 0:30, for the window's 20 s
        search.export([stored], tmp_path / "export")
        rows = (tmp_path / "export" / "results.csv").read_text(encoding="utf-8")
        assert "0:30-0:50" in rows
    finally:
        context.maps.close()


def test_a_file_whose_windows_cannot_be_cut_is_named_in_one_line_and_the_build_goes_on(tmp_path, tiny_model_dir, caplog):
    import logging

    from clamp3 import Embedder, Library, load_model
    from clamp3.passages import build_passages

    music = tmp_path / "music"
    music.mkdir()
    write_midi(music / "good.mid", BACKGROUND)
    (music / "bad.mtf").write_text("ticks_per_beat 480\nnote_on 0 0 60 80\nnote_off x 0 60 0\n", encoding="utf-8")
    model = load_model(tiny_model_dir)
    library = Library.open(tmp_path / "lib", model=model, create=True)
    library.add([music], Embedder(model), progress=False)
    logger = logging.getLogger("clamp3.passages")  # (heard here: the CLI's logging, set up by other tests, does not propagate)
    logger.addHandler(caplog.handler)
    try:
        assert build_passages(library, Embedder(model), progress=False) == 3  # good.mid: 30 s, windows at 0, 5 and 10 s
    finally:
        logger.removeHandler(caplog.handler)
    warned = [r.getMessage() for r in caplog.records if "bad.mtf" in r.getMessage()]
    assert len(warned) == 1 and "not MTF at line 3" in warned[0] and "\n" not in warned[0]
    assert library.db.execute("SELECT COUNT(*) FROM passages WHERE last = 0").fetchone()[0] == 1  # not tried again


def test_an_item_replaced_under_the_same_id_and_windows_is_searched_by_its_new_windows(tmp_path, tiny_model_dir):
    from clamp3 import Embedder, Library, load_model
    from clamp3.passages import build_passages, search_passages

    music, later = tmp_path / "music", tmp_path / "later"
    music.mkdir()
    later.mkdir()
    for n in range(6):
        (music / f"other{n}.abc").write_text(tune(OTHER[n:] + OTHER[:n], key="DGAEBF"[n]), encoding="utf-8")
    edited = later / "edited.abc"
    edited.write_text(tune([f"{n}2 {n}2 {n}2 {n}2" for n in "ABcdefgaABcdefga" * 2], key="G"), encoding="utf-8")  # 32 bars
    model = load_model(tiny_model_dir)
    embedder = Embedder(model)
    library = Library.open(tmp_path / "lib", model=model, create=True, ann_threshold=10)  # searched through the inverted file
    library.add([music], embedder, progress=False)
    library.add([later], embedder, progress=False)  # the highest id
    build_passages(library, embedder, progress=False)
    assert (tmp_path / "lib" / "passages.faiss").exists()
    query = embedder.encode_texts(["a tune"])[0][None]
    search_passages(library, query, k=3)
    loaded = library._passages
    library.tag([1], "kept")  # a new version of the metadata only: the inverted file stays loaded
    search_passages(library, query, k=3)
    assert library._passages is loaded and loaded.index is not None
    (old_id,) = [item.id for item in library.items() if item.name == "edited"]
    edited.write_text(tune(OTHER[:16] + KNOWN + OTHER[24:]), encoding="utf-8")  # 32 bars again: the same windows
    library.add([later], embedder, progress=False)
    assert [item.id for item in library.items() if item.name == "edited"] == [old_id]  # (SQLite gives the freed id again)
    build_passages(library, embedder, progress=False)
    known = embedder.encode_items([Item(None, "known", "abc", tune(KNOWN))])[0]  # (1, D)
    exact = search_passages(library, known, k=3, exact=True)[0]
    approximate = search_passages(library, known, k=3)[0]
    assert (exact[0].id, exact[0].passage) == (old_id, (17, 24)) and exact[0].score == pytest.approx(1.0, abs=5e-3)
    assert [(h.id, h.passage) for h in approximate] == [(h.id, h.passage) for h in exact]
    assert [h.score for h in approximate] == pytest.approx([h.score for h in exact], abs=5e-3)
    library.close()
    reopened = Library.open(tmp_path / "lib", read_only=True, ann_threshold=10)  # the file as written, not the one in memory
    assert [h.score for h in search_passages(reopened, known, k=3)[0]] == pytest.approx([h.score for h in exact], abs=5e-3)
    reopened.close()


def test_a_library_without_windows_builds_none(tmp_path, tiny_model_dir):
    from clamp3 import Embedder, Library, load_model
    from clamp3.passages import build_passages

    music = tmp_path / "music"
    music.mkdir()
    (music / "words.txt").write_text("a slow air in D minor", encoding="utf-8")
    model = load_model(tiny_model_dir)
    library = Library.open(tmp_path / "lib", model=model, create=True, ann_threshold=0)
    library.add([music], Embedder(model), progress=False)
    assert build_passages(library, Embedder(model), progress=False) == 0
    assert library.db.execute("SELECT last FROM passages").fetchall() == [(0,)]  # not tried again


def test_a_passage_search_in_the_browser_shows_the_bars_it_found_and_engraves_them(tmp_path, tiny_model_dir):
    """Issue 20 in Debian's Chromium, on a library built here: a score uploaded as the query with
    "find passages" ticked finds the piece it was planted in at bars 17-24, and playing that result
    engraves those bars in its row."""
    import os

    from support import serve_app
    from test_browser import app_page

    from clamp3 import Embedder, Library, load_model
    from clamp3.passages import build_passages

    music = tmp_path / "music"
    music.mkdir()
    (music / "planted.abc").write_text(tune(OTHER[:16] + KNOWN + OTHER[16:]), encoding="utf-8")  # the tune at bars 17-24
    (music / "other.abc").write_text(tune(OTHER), encoding="utf-8")
    model = load_model(tiny_model_dir)
    library = Library.open(tmp_path / "lib", model=model, create=True)
    library.add([music], Embedder(model), progress=False)
    build_passages(library, Embedder(model), progress=False)
    library.close()
    query = tmp_path / "query.abc"
    query.write_text(tune(KNOWN), encoding="utf-8")
    options = ["--weights", str(tiny_model_dir), "--index", str(tmp_path / "lib"), "--home", str(tmp_path / "home")]
    env = {**os.environ, "CLAMP3_CACHE": str(tmp_path / "cache")}
    with serve_app(options, log=tmp_path / "app.log", env=env) as (url, _), app_page(url) as page:
        page.locator("#search-passages input").check()
        page.locator("input[type=file]").first.set_input_files(str(query))
        page.get_by_role("button", name="Search", exact=True).click()
        first = page.locator("#search-results table tr").nth(1)
        first.filter(has_text="(bars 17-24)").wait_for()
        assert "planted" in first.inner_text()
        page.get_by_role("button", name="play 1", exact=True).click()
        opened = page.locator("#search-results tr.clamp3-opened")
        opened.locator("svg").first.wait_for()
        assert "bars 17-24" in page.locator("#search-results").inner_text()
