"""The demo data build: labels read from the corpus, texts in 30 languages (20 of them in training),
a held-out split that training never sees, and the converted music the model reads (music only, no
metadata)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from support import benchmark_script

from demo import build as demo_build
from demo import texts
from demo.build import AUDIO_FEATURES, TEXT_LANGUAGES, _text_languages, build, music_labels, music_only
from demo.corpus import essen_origin, song_function, tunes_of
from demo.languages import HELDOUT_LANGUAGES, TRAIN_LANGUAGES
from demo.musicwords import music_phrases
from demo.texts import (
    LANGUAGES,
    bars_phrase,
    core,
    describe,
    descriptions,
    details,
    key_name,
    on_their_own,
    portrait,
    sampled,
    task_prompts,
)

GOLDEN = Path(__file__).parent / "data" / "golden" / "first_edition_texts.json"


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
    assert names["pt"] == "em fá sustenido menor" and names["nl"] == "in fis klein" and names["pl"] == "fis-moll"
    assert names["uk"] == "фа-дієз мінор" and names["el"] == "σε φα δίεση ελάσσονα" and names["tr"] == "fa diyez minör"
    assert names["ar"] == "فا دييز الصغير" and names["ko"] == "F♯단조" and names["vi"] == "giọng Fa thăng thứ"
    assert names["hu"] == "fisz-moll" and names["sv"] == "i fiss-moll" and names["he"] == "בסולם פה דיאז מינור"
    assert key_name("Dm", "cs") == "d moll" and key_name("Bb", "cs") == "B dur" and key_name("Bb", "nl") == "in Bes groot"
    assert key_name("Eb", "id") == "tangga nada Es mayor" and key_name("Ador", "pl") == "A dorycka"
    assert key_name("Bb", "de") == "in B-Dur" and key_name("Eb", "de") == "in Es-Dur" and key_name("Ador", "en") == "in A dorian"
    assert key_name("none", "en") is None and key_name("Hp", "en") is None


def test_bar_counts_take_each_language_plural():
    counts = (1, 2, 3, 5, 11, 12, 21, 22, 25, 104, 111)
    assert [bars_phrase(n, "ru") for n in counts] == ["1 такт", "2 такта", "3 такта", "5 тактов", "11 тактов", "12 тактов",
                                                     "21 такт", "22 такта", "25 тактов", "104 такта", "111 тактов"]
    assert [bars_phrase(n, "uk") for n in counts] == ["1 такт", "2 такти", "3 такти", "5 тактів", "11 тактів", "12 тактів",
                                                     "21 такт", "22 такти", "25 тактів", "104 такти", "111 тактів"]
    assert [bars_phrase(n, "pl") for n in counts] == ["1 takt", "2 takty", "3 takty", "5 taktów", "11 taktów", "12 taktów",
                                                     "21 taktów", "22 takty", "25 taktów", "104 takty", "111 taktów"]
    assert [bars_phrase(n, "cs") for n in counts] == ["1 takt", "2 takty", "3 takty", "5 taktů", "11 taktů", "12 taktů",
                                                     "21 taktů", "22 taktů", "25 taktů", "104 taktů", "111 taktů"]
    assert [bars_phrase(n, "ar") for n in (1, 2, 3, 10, 11, 100)] == [
        "مازورة واحدة", "مازورتان", "3 مازورات", "10 مازورات", "11 مازورة", "100 مازورة"]
    assert [bars_phrase(n, "ro") for n in (1, 19, 20, 101)] == ["1 măsură", "19 măsuri", "20 de măsuri", "101 măsuri"]
    assert bars_phrase(1, "en") == "1 bar" and bars_phrase(16, "de") == "16 Takte" and bars_phrase(8, "ja") == "8小節"
    assert bars_phrase(8, "tr") == "8 ölçü" and bars_phrase(8, "fi") == "8 tahtia" and bars_phrase(8, "ko") == "8마디"
    four = {lang: describe({"kind": "folk", "country": "Poland", "voices": 4}, lang) for lang in ("pl", "cs", "uk", "ro")}
    assert four == {"pl": "pieśń ludowa z Polski, na 4 głosy", "cs": "lidová píseň z Polska, pro 4 hlasy",
                    "uk": "народна пісня з Польщі, для 4 голосів", "ro": "un cântec popular din Polonia, pentru 4 voci"}


def test_music_labels_read_metre_key_voices_and_bars():
    abc = "L:1/8\nM:3/4\nK:G\nV:1 treble\nV:2 bass\n[V:1]GAB|[V:2]G,2|\n[V:1]d6|[V:2]D,2|\n"
    assert music_labels(abc) == {"metre": "3/4", "key": "G", "voices": 2, "bars": 2}


def test_descriptions_cover_every_language_and_vary():
    work = {"kind": "folk", "region": "China", "country": "China", "province": "Shanxi", "title": "Zou xikou",
            "function": "mountain", "metre": "2/4", "key": "G", "voices": 1, "bars": 22}
    described = descriptions(work, random.Random(0))
    assert list(described) == TRAIN_LANGUAGES  # held-out languages never reach training
    assert described["zh"][1] == "中国山西民歌" and described["de"][1] == "ein Volkslied aus Shanxi, China"
    assert described["ko"][1] == "중국 산시성 민요" and described["vi"][1] == "một bài dân ca Sơn Tây, Trung Quốc"
    assert "Zou xikou" not in described["en"][0] and "mountain song" in described["en"][0]
    assert all(len(set(v)) == len(v) >= 2 for v in described.values())
    fiddle = describe({"kind": "fiddle", "tune_type": "slip jig", "metre": "9/8"}, "fr")
    assert fiddle.startswith("un slip jig") and "9/8" in fiddle
    assert describe({"kind": "folk", "country": None}, "en") is None  # no class: no text


def test_training_texts_name_the_music_itself_and_seldom_what_the_abc_spells_out():
    music = {"mode": "minor", "motion": "stepwise", "motion_steps": 0.8, "ambitus": 7, "range": "narrow", "texture": "monophonic", "upbeat": True}
    work = {"kind": "folk", "region": "Germany", "country": "Germany", "function": "lullaby", "metre": "3/4",
            "key": "Dmin", "voices": 1, "bars": 16, "music": music}
    portrait = descriptions(work, random.Random(0))["en"][0]  # every fact but what the ABC spells out
    assert all(phrase in portrait for phrase in music_phrases(music, "en")) and "lullaby" in portrait
    assert "3/4" not in portrait and "D minor" not in portrait and "16 bars" not in portrait
    texts = [text for seed in range(300) for text in descriptions(work, random.Random(seed))["en"]]
    share = {name: sum(word in text for text in texts) / len(texts) for name, word in
             (("key", "D minor"), ("metre", "3/4"), ("bars", "16 bars"), ("music", music_phrases(music, "en")[0]))}
    assert 0.01 < share["key"] < 0.15 and 0.01 < share["metre"] < 0.15 and 0.01 < share["bars"] < 0.15, share
    assert share["music"] > 0.3, share  # the portrait and half the random subsets, of four texts (class and function alone the others)
    for lang in TRAIN_LANGUAGES:  # and in every training language, without placeholders
        assert all("{" not in text for text in descriptions(work, random.Random(1))[lang])


def test_era_and_song_function_are_texts_of_their_own():
    palestrina = {"kind": "composer", "composer": "Palestrina", "era": "Renaissance", "voices": 4, "metre": "4/4", "key": "G", "bars": 30}
    described = descriptions(palestrina, random.Random(0))
    assert described["en"][:3] == [portrait(palestrina, "en"), "a piece by Giovanni Pierluigi da Palestrina", "music from the Renaissance"]
    assert "文艺复兴时期的音乐" in described["zh"] and "Musik aus der Renaissance" in described["de"]
    trecento = {"kind": "composer", "era": "Medieval", "voices": 2}  # the era is its class already
    assert on_their_own(trecento, "en") == [] and on_their_own(palestrina, "ja") == ["ルネサンス時代の音楽"]
    assert descriptions(trecento, random.Random(0))["en"] == ["music from the Middle Ages, for 2 voices", "music from the Middle Ages"]
    lullaby = {"kind": "folk", "region": "Germany", "country": "Germany", "function": "lullaby", "metre": "3/4", "key": "D", "voices": 1, "bars": 8}
    described = descriptions(lullaby, random.Random(0))
    assert "a lullaby" in described["en"] and "ein Wiegenlied" in described["de"] and "摇篮曲" in described["zh"]
    for seed in range(5):  # they take nothing from the draw: the random subsets are those drawn without them
        assert sampled(lullaby, "en", random.Random(seed)) in descriptions(lullaby, random.Random(seed), languages=["en"])["en"]


def test_the_metre_swap_benchmark_changes_the_metre_fields_alone():
    """benchmarks/metre_swap.py: every metre field, header and inline, says 4/4; notes, bar lines
    and other fields (L:, K:, inline K:) are untouched."""
    with benchmark_script("metre_swap") as module:
        abc = "X:1\nL:1/8\nM:2/2\nK:D\nV:1\n[V:1] |:A2FA dAFA|[M:3/4] B2 B2 B2|[K:G][M:2/2] GABc d4:|\n"
        assert module.in_four_four(abc) == "X:1\nL:1/8\nM:4/4\nK:D\nV:1\n[V:1] |:A2FA dAFA|[M:4/4] B2 B2 B2|[K:G][M:4/4] GABc d4:|\n"
        assert module.in_four_four("L:1/8\nK:D\nABcd|\n") == "L:1/8\nK:D\nABcd|\n"  # no metre field: nothing to change


def test_the_description_facets_benchmark_leaves_out_one_fact_at_a_time():
    """benchmarks/description_facets.py: each column is the held-out description query less one
    spelled-out fact (the rest in the same order), or the class alone; ``describe`` leaves them out."""
    work = {"kind": "folk", "region": "Germany", "country": "Germany", "function": "love", "metre": "6/8", "key": "G",
            "voices": 1, "bars": 32, "title": "Ach Gott"}
    with benchmark_script("description_facets") as module:
        for lang in ("en", "zh", "he"):
            full = module.query(module.VARIANTS["description"])(work, lang)
            assert full == describe(work, lang, title=False)
            for fact, word in (("key", key_name("G", lang)), ("metre", "6/8"), ("bars", bars_phrase(32, lang))):
                less = module.query(module.VARIANTS[f"-{fact}"])(work, lang)
                assert word in full and word not in less and len(less) < len(full)
                assert less == describe(work, lang, title=False, leave_out=frozenset({fact}))
            assert module.query(module.VARIANTS["class"])(work, lang) == core(work, lang)
        assert module.query(frozenset())({"kind": "folk", "country": None}, "en") is None  # no class: no query
    assert describe(work, "en", leave_out=frozenset({"title", "key", "metre", "bars", "voices", "function"})) == core(work, "en")


def test_each_work_is_described_in_its_own_draw_of_the_training_languages():
    works = [{"id": f"work{i}"} for i in range(2000)]
    drawn = [_text_languages(work, 0, 4) for work in works]
    assert drawn[0] == _text_languages({"id": "work0"}, 0, 4) != _text_languages({"id": "work0"}, 1, 4)
    assert all(len(langs) == 4 and langs == [lang for lang in TRAIN_LANGUAGES if lang in langs] for langs in drawn)
    share = {lang: sum(lang in langs for langs in drawn) / len(works) for lang in TRAIN_LANGUAGES}
    expected = 4 / len(TRAIN_LANGUAGES)  # every language in about as many works
    assert all(abs(value - expected) < 0.05 for value in share.values()), share
    assert _text_languages(works[0], 0, 50) == TRAIN_LANGUAGES
    work = {"kind": "folk", "region": "China", "country": "China", "metre": "2/4", "key": "G", "voices": 1, "bars": 8}
    assert list(descriptions(work, random.Random(0), languages=["de", "ko"])) == ["de", "ko"]


def test_class_prompts_name_every_class():
    assert set(task_prompts("tune_type")) == {"jig", "reel", "hornpipe", "slip jig", "strathspey", "air"}
    assert set(task_prompts("region", "de")) == {"Germany", "China", "Lorraine", "Luxembourg", "Poland", "other"}
    assert task_prompts("composer", "ja")["Bach"][0] == "バッハの作品"
    for lang in LANGUAGES:  # held-out languages classify too
        for task in ("tune_type", "region", "composer", "era", "function"):
            prompts = task_prompts(task, lang)
            assert set(prompts) == set(task_prompts(task, "en")) and all(p and "{" not in p for v in prompts.values() for p in v)
    assert task_prompts("composer", "pl")["Bach"] == ["utwór Jana Sebastiana Bacha", "muzyka Jana Sebastiana Bacha"]
    assert task_prompts("region", "tr")["Germany"] == ["Alman halk şarkısı"]
    assert task_prompts("era")["Renaissance"] == ["music from the Renaissance"] and task_prompts("function", "de")["lullaby"] == ["ein Wiegenlied"]
    assert set(task_prompts("function")) >= {"lullaby", "love", "ballad", "mountain"} and len(task_prompts("era", "zh")) == 5
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
        assert len(work["texts"]) == TEXT_LANGUAGES and set(work["texts"]) <= set(TRAIN_LANGUAGES)
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
    # features of another extractor (their names say the rendering only) are made again, not taken
    assert (tmp_path / "audio_features").read_text().strip() == AUDIO_FEATURES
    features = tmp_path / next(w["files"]["audio"] for w in works if "audio" in w["files"])
    made = np.load(features)
    np.save(features, np.zeros_like(made))
    (tmp_path / "audio_features").write_text(("spectral-v2" if AUDIO_FEATURES == "spectral-v1" else "spectral-v1") + "\n")
    build(tmp_path, seed=3, workers=1, audio_fraction=0.5, limit=12)
    np.testing.assert_array_equal(np.load(features), made)
    assert (tmp_path / "audio_features").read_text().strip() == AUDIO_FEATURES


def crash(task):
    os._exit(1)  # as a segfault in a native library ends a worker


def test_a_worker_that_dies_stops_the_build_with_a_message(monkeypatch):
    """multiprocessing.Pool waited forever for the work of a worker that crashed (librosa's numba
    kernel did, on one CPU): the build hung with nothing said."""
    from concurrent.futures import ProcessPoolExecutor

    monkeypatch.setattr(demo_build, "convert", crash)
    with ProcessPoolExecutor(2) as pool, pytest.raises(SystemExit, match="a worker process died.*run the same command again"):
        list(demo_build._converted_in(pool, [({"id": "a"}, "", False)] * 3))


def test_every_phrase_table_has_every_language_and_the_same_entries():
    tables = {"PLACES": texts.PLACES, "PROVINCES": texts.PROVINCES, "TUNE_TYPES": texts.TUNE_TYPES,
              "FUNCTIONS": texts.FUNCTIONS, "COMPOSERS": texts.COMPOSERS, "ERAS": texts.ERAS, "FRAMES": texts.FRAMES,
              "MODES": texts.MODES, "KEYS": texts.KEYS, "BARS": texts.BARS, "VOICES": texts.VOICES,
              "PLURAL_RULES": texts.PLURAL_RULES}
    assert LANGUAGES == TRAIN_LANGUAGES + HELDOUT_LANGUAGES and len(set(LANGUAGES)) == 36 and len(HELDOUT_LANGUAGES) >= 10
    for name, table in tables.items():
        assert sorted(table) == sorted(LANGUAGES), name
    for name in ("PLACES", "PROVINCES", "TUNE_TYPES", "FUNCTIONS", "COMPOSERS", "ERAS", "FRAMES", "MODES"):
        for lang in LANGUAGES:
            assert list(tables[name][lang]) == list(tables[name]["en"]), (name, lang)
    assert all("other" in texts.BARS[lang] and "other" in texts.VOICES[lang] for lang in LANGUAGES)
    assert all(len(texts.KEYS[lang]["notes"].split()) == 7 for lang in LANGUAGES)


def _golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_first_edition_languages_give_the_strings_the_shipped_model_was_trained_on():
    golden = _golden()
    for i, entry in enumerate(golden["works"]):
        work = entry["work"]
        for lang, expected in entry["languages"].items():
            assert core(work, lang) == expected["core"], (i, lang)
            assert details(work, lang) == expected["details"], (i, lang)
            assert details(work, lang, title=False) == expected["details_untitled"], (i, lang)
            assert describe(work, lang) == expected["describe"], (i, lang)
            assert describe(work, lang, random.Random(f"{i}:{lang}")) == expected["describe_random"], (i, lang)
        # (the training texts, ``descriptions``, are made anew in the second edition: see the test below)
    for lang, names in golden["key_name"].items():
        assert {key: key_name(key, lang) for key in names} == names, lang
    counts = [*range(1, 31), 101, 102, 104, 105, 111, 112, 121, 122, 125]
    for lang, phrases in golden["bars_phrase"].items():
        assert [bars_phrase(n, lang) for n in counts] == phrases, lang
    for lang, tasks in golden["task_prompts"].items():
        assert {task: task_prompts(task, lang) for task in tasks} == tasks, lang


def test_every_language_describes_every_field_without_placeholders():
    works = [entry["work"] for entry in _golden()["works"]]
    for lang in LANGUAGES:
        for work in works:
            text = describe(work, lang)
            assert (text is None) == (describe(work, "en") is None), (lang, work)
            if text is not None:
                assert text.strip() and not any(c in text for c in "{}"), (lang, text)
                assert len(details(work, lang)) == len(details(work, "en")), (lang, work)
