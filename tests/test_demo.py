"""The demo data build: labels read from the corpus, texts in eight languages, a held-out split
that training never sees, and the converted music the model reads (music only, no metadata)."""

from __future__ import annotations

import json
import random

import pytest

from demo.build import build, music_labels, music_only
from demo.corpus import essen_origin, song_function, tunes_of
from demo.texts import LANGUAGES, bars_phrase, describe, descriptions, key_name, task_prompts


def test_essen_origins_give_region_country_and_province():
    assert essen_origin("Europa, Mitteleuropa, Deutschland") == ("Germany", "Germany", None)
    assert essen_origin("China, Shanxi Zuoquan") == ("China", "China", "Shanxi")
    assert essen_origin("Asien, Ostasien, China") == ("China", "China", None)
    assert essen_origin("Mitteleuropa, Deutschland / Frankreich, Lothringen, Gelmingen")[0] == "Lorraine"
    assert essen_origin("Mitteleuropa, Deutschland / Polen, Schlesien")[0] == "Poland"
    assert essen_origin("Suedosteuropa, Jugoslawien, Gottschee") == ("other", "Yugoslavia", None)
    assert essen_origin("0109C 08  F 3/4") == (None, None, None)
    assert song_function("liebes - lied, leid, klage") == "love" and song_function("shange]") == "mountain"


def test_keys_are_named_in_each_language():
    names = {lang: key_name("F#min", lang) for lang in LANGUAGES}
    assert names["en"] == "in F-sharp minor" and names["de"] == "in fis-Moll" and names["fr"] == "en fa dièse mineur"
    assert names["zh"] == "升F小调" and names["ja"] == "嬰ヘ短調" and names["ru"] == "фа-диез минор"
    assert key_name("Bb", "de") == "in B-Dur" and key_name("Eb", "de") == "in Es-Dur" and key_name("Ador", "en") == "in A dorian"
    assert key_name("none", "en") is None and key_name("Hp", "en") is None


def test_bar_counts_take_each_language_plural():
    assert [bars_phrase(n, "ru") for n in (1, 3, 5, 11, 21, 24)] == ["1 такт", "3 такта", "5 тактов", "11 тактов", "21 такт", "24 такта"]
    assert bars_phrase(1, "en") == "1 bar" and bars_phrase(16, "de") == "16 Takte" and bars_phrase(8, "ja") == "8小節"


def test_music_labels_read_metre_key_voices_and_bars():
    abc = "L:1/8\nM:3/4\nK:G\nV:1 treble\nV:2 bass\n[V:1]GAB|[V:2]G,2|\n[V:1]d6|[V:2]D,2|\n"
    assert music_labels(abc) == {"metre": "3/4", "key": "G", "voices": 2, "bars": 2}


def test_descriptions_cover_every_language_and_vary():
    work = {"kind": "folk", "region": "China", "country": "China", "province": "Shanxi", "title": "Zou xikou",
            "function": "mountain", "metre": "2/4", "key": "G", "voices": 1, "bars": 22}
    texts = descriptions(work, random.Random(0))
    assert set(texts) == set(LANGUAGES)
    assert texts["zh"][1] == "中国山西民歌" and texts["de"][1] == "ein Volkslied aus Shanxi, China"
    assert "Zou xikou" not in texts["en"][0] and "2/4" in texts["ja"][0] and "22" in texts["de"][0]
    assert all(len(set(v)) == len(v) >= 2 for v in texts.values())
    fiddle = describe({"kind": "fiddle", "tune_type": "slip jig", "metre": "9/8"}, "fr")
    assert fiddle.startswith("un slip jig") and "9/8" in fiddle
    assert describe({"kind": "folk", "country": None}, "en") is None  # no class: no text


def test_class_prompts_name_every_class():
    assert set(task_prompts("tune_type")) == {"jig", "reel", "hornpipe", "slip jig", "strathspey", "air"}
    assert set(task_prompts("region", "de")) == {"Germany", "China", "Lorraine", "Luxembourg", "Poland", "other"}
    assert task_prompts("composer", "ja")["Bach"][0] == "バッハの作品"
    with pytest.raises(ValueError):
        task_prompts("mood")


def test_music_only_drops_information_fields():
    abc = "%%score 1 2\nL:1/8\nM:6/8\nO:Europa\nR:Liebeslied\nN:note\n% comment\nK:G\nV:1 treble\n[V:1]GAB|"
    assert music_only(abc) == "%%score 1 2\nL:1/8\nM:6/8\nK:G\nV:1 treble\n[V:1]GAB|"


def test_tune_books_are_split_by_x_field(tmp_path):
    book = tmp_path / "b.abc"
    book.write_text("%preamble\nX:1\nT:a\nK:C\nCDE|\n\nX:2\nT:b\nK:G\nGAB|\n", encoding="latin-1")
    assert [n for n, _ in tunes_of(book)] == ["1", "2"]


def test_build_writes_music_texts_and_a_disjoint_held_out_split(tmp_path):
    summary = build(tmp_path, seed=3, workers=1, audio_fraction=0.5, limit=12)
    works = [json.loads(line) for line in (tmp_path / "works.jsonl").read_text(encoding="utf-8").splitlines()]
    assert summary["works"] == len(works) >= 8
    for work in works:
        abc = (tmp_path / work["files"]["abc"]).read_text(encoding="utf-8")
        assert "[V:" in abc and not any(line[:2] in ("T:", "O:", "R:", "C:", "X:") for line in abc.split("\n"))
        assert (tmp_path / work["files"]["mtf"]).read_text(encoding="utf-8").startswith("ticks_per_beat")
        assert work["files"]["abc"].startswith(f"music/{work['split']}/")
        assert set(work["texts"]) == set(LANGUAGES)
        assert work["music"]["ambitus"] >= 0 and work["music"]["texture"]  # demo.musicwords, from the parsed score
    assert any("audio" in w["files"] for w in works)
    heldout = {w["id"] for w in works if w["split"] == "heldout"}
    for name in ("pairs_symbolic_train.jsonl", "pairs_symbolic_val.jsonl", "pairs_audio_train.jsonl"):
        rows = [json.loads(line) for line in (tmp_path / name).read_text(encoding="utf-8").splitlines()]
        assert not heldout & {r["id"] for r in rows}
    # a rerun converts nothing and gives the same data
    before = (tmp_path / "works.jsonl").read_text(encoding="utf-8")
    build(tmp_path, seed=3, workers=1, audio_fraction=0.5, limit=12)
    assert (tmp_path / "works.jsonl").read_text(encoding="utf-8") == before
