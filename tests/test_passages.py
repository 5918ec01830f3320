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
    assert "windows of 8 bars (every 4) embedded" in capsys.readouterr().err
    assert main(["search", str(query), "--index", lib, "--passages", "--json", *weights]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["name"] == "planted" and hits[0]["passage"] == {"first_bar": 17, "last_bar": 24}
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-5)  # the window is the tune itself
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
