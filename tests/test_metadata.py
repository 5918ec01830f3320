"""Clean titles and metadata: the repairs, uploads' field names, hidden fields, and a scan of the
shipped demo library (issue 18, bug 4)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections import Counter

import pytest

from clamp3.assets import LIBRARY_DIR, assets_dir
from clamp3.formats import Item
from clamp3.library import Library
from clamp3.metadata import (
    FIELD_ALIASES,
    HIDDEN_FIELDS,
    clean_metadata,
    clean_title,
    clean_value,
    read_metadata,
    repair_text,
    title_case,
)

MOJIBAKE = re.compile(r"Ã|Â[\w\x80-\x9f]|â€|[\x80-\x9f]|\ufffd")
JUNK = re.compile(r"(?i)nan|none|null|[\s.\-_*]*")


@pytest.mark.parametrize("garbled, repaired", [
    ("Drei MÂ\x94rder", "Drei Mörder"),                  # cp437 byte carried over as Latin-1, then read as Latin-1
    ("DÃ¡ bhfaghainn", "Dá bhfaghainn"),                # UTF-8 read as Latin-1
    ("CailÃ\xadn gaelech, S. 54", "Cailín gaelech, S. 54"),
    ("Itâ€™s", "It’s"),                                  # UTF-8 read as cp1252
    ("Boy\x92s", "Boy’s"),                               # a cp1252 byte read as Latin-1: the quote, not cp437's Æ
    ("SÃO PAULO", "SÃO PAULO"),                          # real text is left alone
    ("Mörder", "Mörder"),
])
def test_repair_text(garbled, repaired):
    assert repair_text(garbled) == repaired
    assert repair_text(repaired) == repaired


def test_titles():
    assert clean_title("T: THE DUBLIN BOY'S -- JIG"[3:], "x") == ("The Dublin Boy's", "jig")
    assert clean_title("KIT O'MAHONY'S HORNPIPE", "x") == ("Kit O'Mahony's Hornpipe", None)
    assert clean_title("Kelton'S", "x") == ("Kelton's", None)
    assert clean_title("BWV 101.7", "x") == ("BWV 101.7", None)  # one word of capitals: an abbreviation
    assert title_case("PART II OF THE SUITE") == "Part II Of The Suite"
    for meaningless in ("coda", "First Section", "movement3", "CANTO", "", None, "156"):
        assert clean_title(meaningless, "haydn_opus1no1_movement3_mxl") == ("Haydn Op. 1 No. 1 movement 3", None)


def test_values_and_field_names():
    for junk in ("nan", "None", "........", "-", " ", ""):
        assert clean_value("province", junk) is None
    assert clean_value("metre", "none") == "free"  # ABC's M:none
    assert clean_value("tune_type", "Reel") == "reel"
    cleaned = clean_metadata({"title": "A", "meter": "6/8", "rhythm": "Jig", "province": "nan", "split": "train"}, "a")
    assert cleaned == {"title": "A", "metre": "6/8", "tune_type": "jig", "split": "train"}
    assert clean_metadata({"title": "A", "meter": "6/8", "metre": "3/4"}, "a") == {"title": "A", "metre": "3/4"}


def test_an_uploaded_abc_gets_the_demo_field_names(tmp_path):
    tune = tmp_path / "dublin.abc"
    tune.write_text("X:1\nT:THE DUBLIN BOY'S -- JIG\nM:6/8\nR:Jig\nK:G\n|GAB cde|\n", encoding="utf-8")
    assert read_metadata(Item(tune, "dublin", "abc", "")) == {"title": "The Dublin Boy's", "metre": "6/8", "tune_type": "jig", "key": "G"}
    latin = tmp_path / "latin.abc"  # an older tune book in an 8-bit code page
    latin.write_bytes("X:1\nT:Drei Mörder\nM:none\nK:C\n|CDE|\n".encode("cp1252"))
    assert read_metadata(Item(latin, "latin", "abc", "")) == {"title": "Drei Mörder", "metre": "free", "key": "C"}


def test_hidden_fields_are_not_offered(tmp_path):
    from explorers.search import SHOWN_FIELDS

    assert not HIDDEN_FIELDS & set(SHOWN_FIELDS)
    # the fields the demo library's items carry are shown in a result row, a recording's rendering too
    from types import SimpleNamespace

    from explorers.search import _details

    recording = Library(assets_dir() / LIBRARY_DIR, read_only=True).items(modality="audio", limit=1)[0]
    shown = _details(SimpleNamespace(metadata=recording.metadata))
    assert f"instrument: {recording.metadata['instrument']}" in shown and f"tempo: {recording.metadata['tempo']}" in shown
    shutil.copy(assets_dir() / LIBRARY_DIR / "library.sqlite3", tmp_path / "library.sqlite3")
    for library in (Library(assets_dir() / LIBRARY_DIR, read_only=True), Library(tmp_path)):
        assert "split" not in library.fields() and "region" in library.fields()
        assert library.items(where={"split": "heldout"})  # kept for evaluation
        library.close()


def test_relabel_keeps_vectors_and_gives_the_shipped_labels(tmp_path):
    """demo.relabel on a copy of the shipped library, garbled first: the shipped titles and
    metadata come back, the vectors of every item are the same bytes."""
    from demo.relabel import relabel

    shutil.copy(assets_dir() / LIBRARY_DIR / "library.sqlite3", tmp_path / "library.sqlite3")
    library = Library(tmp_path)
    before = library.db.execute("SELECT id, title, metadata, vector FROM items ORDER BY id").fetchall()
    # mojibake everywhere; capitals where the corpus gives the title again (fiddle tunes)
    garbled = [(i, title.encode("utf-8").decode("latin-1"), {**json.loads(m), "meter": "9/8", "province": "nan"})
               for i, title, m, _ in before[::50]]
    garbled = [(i, t.upper() if m["kind"] == "fiddle" else t, m) for i, t, m in garbled]
    library.update_metadata(garbled)
    counts = relabel(library)
    after = library.db.execute("SELECT id, title, metadata, vector FROM items ORDER BY id").fetchall()
    library.close()
    assert counts["items changed"] == len(garbled) and counts["repeated items removed"] == 0
    assert [(i, t, json.loads(m)) for i, t, m, _ in after] == [(i, t, json.loads(m)) for i, t, m, _ in before]
    assert [(i, v) for i, *_, v in after] == [(i, v) for i, *_, v in before]


def test_the_shipped_library_is_clean():
    """Every title and metadata value of the demo library as a visitor sees it."""
    db = sqlite3.connect((assets_dir() / LIBRARY_DIR / "library.sqlite3").resolve().as_uri() + "?mode=ro", uri=True)
    rows = db.execute("SELECT modality, content_hash, title, metadata FROM items").fetchall()
    assert db.execute("SELECT 1 FROM sqlite_master WHERE name = 'item_fields'").fetchone(), "ships with its table of fields"
    assert db.execute("SELECT COUNT(*) FROM item_fields").fetchone()[0] == sum(len(json.loads(m)) for *_, m in rows)
    problems = []
    seen = Counter()
    for modality, digest, title, metadata in rows:
        metadata = json.loads(metadata)
        values = [title, *metadata.values()]
        problems += [f"mojibake: {v!r}" for v in values if MOJIBAKE.search(v)]
        problems += [f"junk value: {k}={v!r}" for k, v in metadata.items() if JUNK.fullmatch(v)]
        problems += [f"alias field: {k}" for k in metadata if k in FIELD_ALIASES]
        problems += [f"badly cased: {title!r}" for _ in re.findall(r"[a-z]['’]S\b", title)]
        if clean_title(title, "x")[0] != title:
            problems.append(f"title not clean: {title!r}")
        shown = {k: v for k, v in metadata.items() if k not in HIDDEN_FIELDS}
        seen[(modality, digest, title, json.dumps(shown, sort_keys=True))] += 1
    problems += [f"listed twice: {key[2]!r}" for key, n in seen.items() if n > 1]
    assert not problems, (len(problems), problems[:20])
