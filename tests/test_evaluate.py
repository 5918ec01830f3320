"""demo.evaluate: neighbour agreement, precision@k, the language table, and the --library mode
on a small library embedded by the default model."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

import demo.musicwords
import demo.texts
from demo.evaluate import (
    library_work,
    main,
    nearest,
    neighbour_agreement,
    precision_at_k,
    rendering_section,
    rendering_table,
    retrieval_summary,
    retrieval_table,
    table,
)
from demo.languages import HELDOUT_LANGUAGES
from demo.rendering_queries import FRAMES, INSTRUMENTS, QUERY_LANGUAGES, TEMPI, instrument_queries

DATA = Path(__file__).parent / "data"


def naive_agreement(points, labels, k, euclidean=False):
    """One item at a time: sort every other item by distance, count the first k with the label."""
    shares = []
    for i, point in enumerate(points):
        if labels[i] is None:
            continue
        others = [j for j in range(len(points)) if j != i]
        if euclidean:
            others.sort(key=lambda j: float(np.sum((points[j] - point) ** 2)))
        else:
            cos = [float(points[j] @ point / np.linalg.norm(points[j]) / np.linalg.norm(point)) for j in others]
            others = [j for _, j in sorted(zip(cos, others), key=lambda p: -p[0])]
        shares.append(np.mean([labels[j] == labels[i] for j in others[:k]]))
    return float(np.mean(shares))


def two_clusters(n=60, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    region = np.array(["north", "south"])[np.arange(n) % 2]
    centres = {"north": np.eye(dim)[0] * 5, "south": np.eye(dim)[1] * 5}
    points = np.stack([centres[r] for r in region]) + rng.standard_normal((n, dim))
    keys = list(rng.choice(["C", "G", "D", "F"], n))
    return points, list(region), keys


def test_two_clusters_by_region_agree_fully_and_random_keys_sit_at_chance():
    points, region, keys = two_clusters()
    result = neighbour_agreement(points, {"region": region, "key": keys}, k=10)
    assert result["region"]["agreement"] == 1.0
    assert result["region"]["chance"] == pytest.approx(29 / 59)  # 30 of a region, less itself, over 59 others
    assert abs(result["key"]["agreement"] - result["key"]["chance"]) < 0.12
    on_map = neighbour_agreement(points[:, :2], {"region": region}, k=10, metric="euclidean")
    assert on_map["region"]["agreement"] == 1.0


def test_agreement_equals_a_one_at_a_time_reference_and_skips_items_without_a_value():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((40, 5))
    labels = [random.Random(i).choice(["a", "b", "c", None]) for i in range(40)]
    for metric, euclidean in (("cosine", False), ("euclidean", True)):
        result = neighbour_agreement(points, {"x": labels}, k=7, metric=metric)
        assert result["x"]["n"] == sum(v is not None for v in labels)
        assert result["x"]["agreement"] == pytest.approx(naive_agreement(points, labels, 7, euclidean))
    assert nearest(points, 3, block=7).tolist() == nearest(points, 3).tolist()  # blocks change nothing
    assert (nearest(points, 3) != np.arange(40)[:, None]).all()  # never itself


def test_precision_at_ten_counts_the_relevant_items_among_the_ten_best():
    rng = np.random.default_rng(2)
    pool = rng.standard_normal((30, 16)) * 0.1
    pool[:, 0] -= 1.0  # every item points away from the first axis ...
    pool[:4, 0] = 2.0  # ... but four
    relevant = np.zeros(30, bool)
    relevant[:4] = True
    query = np.eye(16)[:1]
    assert precision_at_k(query, pool, relevant, k=10).tolist() == [0.4]
    relevant[:12] = True  # the ten best are now all relevant, whatever order the other eight take
    pool[:12, 0] = 2.0
    assert precision_at_k(np.vstack([query, -query]), pool, relevant, k=10).tolist() == [1.0, 0.0]
    assert precision_at_k(query, pool[:5], relevant[:5], k=10).tolist() == [1.0]  # a pool under k: all of it


def test_rendering_queries_cover_every_query_language_and_the_section_skips_unrendered_audio():
    assert len(QUERY_LANGUAGES) == 13 and set(FRAMES) == set(QUERY_LANGUAGES)
    assert all(len(names) == 13 for names in INSTRUMENTS.values()) and all(len(q) == 13 for q in TEMPI.values())
    assert instrument_queries("Flute")["ru"] == "музыка для флейты" and instrument_queries("kazoo") is None
    assert sum(lang in HELDOUT_LANGUAGES for lang in QUERY_LANGUAGES) >= 3 and instrument_queries("organ")["ca"] == "música per a orgue"
    skipped = rendering_section(None, np.zeros((3, 4)), [{"id": "a"}, {"id": "b"}, {"id": "c"}])
    assert list(skipped) == ["skipped"]


def test_rendering_section_scores_each_instrument_and_tempo(tiny_model):
    from clamp3 import Embedder

    works = [{"rendering": {"instrument": i, "tempo": t}} for i, t in [("flute", "slow"), ("piano", "fast"), ("kazoo", "fast")] * 4]
    embedder = Embedder(tiny_model)
    dim = embedder.encode_texts(["x"]).shape[1]
    vectors = np.random.default_rng(3).standard_normal((12, dim)).astype(np.float32)
    section = rendering_section(embedder, vectors, works)
    assert set(section["instrument"]) == {"flute", "piano"} and section["unlisted_instruments"] == ["kazoo"]
    assert set(section["tempo"]) == {"slow", "fast"} and section["tempo"]["fast"]["chance"] == pytest.approx(8 / 12)
    assert set(section["instrument"]["flute"]["precision@10"]) == set(QUERY_LANGUAGES)


def test_the_rendering_table_counts_cells_at_target_in_trained_and_never_trained_languages():
    rendering = {"pool": 9, "k": 10, "languages": ["en", "de", "da"], "unlisted_instruments": [],
                 "instrument": {"flute": {"n": 3, "chance": 0.3, "precision@10": {"en": 1.0, "de": 0.7, "da": 0.8}}},
                 "tempo": {"slow": {"n": 4, "chance": 0.4, "precision@10": {"en": 0.8, "de": 0.9, "da": 0.1}}}}
    lines = rendering_table({"rendering": rendering}, trained=["en", "de"])
    assert "(not in training: da)" in lines[0] and "| flute | 3 | 0.30 | 0.83 | 1.00 | 0.70 | 0.80 |" in lines
    assert lines[-1] == "Cells at precision@10 >= 0.8: 3 of 4 in the 2 trained languages; 1 of 2 in the 1 never-trained languages."


def test_the_language_table_gives_hit_at_ten_as_a_ratio_of_english():
    results = {lang: {"hit@1": h / 2, "hit@10": h, "mrr": h / 2} for lang, h in (("en", 0.5), ("de", 0.4), ("da", 0.45))}
    summary = retrieval_summary(results)
    assert summary["hit@10_ratio"] == pytest.approx({"en": 1.0, "de": 0.8, "da": 0.9})
    assert summary["min_ratio_all"]["language"] == "de" and summary["min_ratio_heldout"] == {"language": "da", "ratio": pytest.approx(0.9), "languages": 1}
    lines = retrieval_table({"retrieval": results, "retrieval_summary": summary}, trained=["en", "de"])
    assert lines[0] == "Text -> music, each held-out work found by its description with key, metre and bars among all of them:"
    assert lines[2] == "| query language | in training | Hit@1 | Hit@10 | MRR | Hit@10 / English |"
    assert lines[4:7] == ["| en | yes | 0.250 | 0.500 | 0.250 | 1.000 |", "| de | yes | 0.200 | 0.400 | 0.200 | 0.800 |",
                          "| da | no | 0.225 | 0.450 | 0.225 | 0.900 |"]
    assert lines[-1] == ("Lowest Hit@10 as a ratio of English's: 0.800 (de) over 3 languages; "
                         "0.900 (da) over 1 held-out languages (target: 0.80 or more).")
    assert retrieval_summary({"de": results["de"]}) == {}  # no English: no ratio


def test_a_report_of_the_first_edition_still_renders():
    report = {"weights": "default", "kinds": {"abc": {"title": "score (ABC)", "pool": 3, "classification": {},
              "retrieval": {"en": {"hit@1": 0.1, "hit@10": 0.2, "mrr": 0.15}}}}}
    assert "| en | ? | 0.100 | 0.200 | 0.150 | 1.000 |" in table(report)


# --- the --library mode -------------------------------------------------------------------------
def tune(seed: int, metre: str, key: str) -> str:
    rng = random.Random(seed)
    notes = "CDEFGAB" if key == "G" else "DEGAB"
    bars = " | ".join("".join(rng.choice(notes) + rng.choice(["", "2"]) for _ in range(4)) for _ in range(8))
    return f"X:1\nM:{metre}\nL:1/8\nK:{key}\n{bars} |]\n"


@pytest.fixture
def small_library(tmp_path, monkeypatch):
    """Eighteen tunes embedded by the default model, with demo metadata, a split and a map."""
    from clamp3 import Embedder
    from clamp3.library import Library, write_shipped_map
    from clamp3.models import load_model

    monkeypatch.setenv("CLAMP3_CACHE", str(tmp_path / "cache"))
    music, sidecar = tmp_path / "music", {}
    music.mkdir()
    for i in range(18):
        kind = "fiddle" if i >= 12 else "folk"
        region, metre, key = ("Germany", "3/4", "G") if i % 2 else ("China", "2/4", "D")
        meta = {"kind": kind, "split": "heldout" if i % 3 == 0 else "train", "metre": metre, "key": key, "voices": "1", "bars": "8"}
        meta |= {"tune_type": "reel" if i % 2 else "jig"} if kind == "fiddle" else {"region": region, "country": region}
        (music / f"t{i:02d}.abc").write_text(tune(i, metre, key), encoding="utf-8")
        sidecar[f"t{i:02d}.abc"] = meta
    library = Library(tmp_path / "lib", create=True)
    report = library.add([music], Embedder(load_model("default")), sidecar=sidecar, progress=False)
    assert not report.failures
    ids = [item.id for item in library.items()]
    write_shipped_map(library.directory, ids, np.random.default_rng(0).uniform(-1, 1, (len(ids), 2)))
    library.close()
    return tmp_path / "lib"


def test_a_built_library_is_evaluated_read_only_from_its_metadata(small_library, tmp_path, capsys):
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in small_library.iterdir()}  # the database and map.csv
    out = tmp_path / "report.json"
    assert main(["--weights", "default", "--library", str(small_library), "--kinds", "abc", "--languages", "en,de,sv",
                 "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    written = [lang for lang in ("en", "de", "sv") if lang in demo.texts.LANGUAGES]
    assert report["languages"] == written and report["map"] is True
    section = report["kinds"]["abc"]
    assert section["pool"] == 6 and list(section["retrieval"]) == written
    assert all(r["queries"] == 6 for r in section["retrieval"].values())
    assert section["retrieval_summary"]["hit@10_ratio"]["en"] == 1.0
    # the portrait (the music's own features, no key, metre or bars) is a second query per language
    assert list(section["retrieval_portrait"]) == written and all(r["queries"] == 6 for r in section["retrieval_portrait"].values())
    assert section["retrieval_portrait_summary"]["hit@10_ratio"]["en"] == 1.0
    folk = section["neighbours"]["folk"]
    assert folk["pool"] == 4 and set(folk["embedding"]) == {"region", "key", "metre"} and folk["map_pool"] == 4
    assert folk["embedding"]["region"]["chance"] == pytest.approx(1 / 3)
    assert set(section["neighbours"]["fiddle"]["embedding"]) == {"tune_type"}
    printed = capsys.readouterr().out
    assert "found by its portrait of the music" in printed and "found by its description with key" in printed
    # no corpus given: the portraits lack what the notes do, and the report says so
    assert report["portrait_music"] == 0.0 and "What the notes do (mode, range, motion, ...) is known for 0% " in printed
    assert "Hit@10 / English" in printed and "| Essen folk songs | 4 | region |" in printed
    # read, never written (a reader of a WAL database may leave its -shm and -wal files, which git ignores)
    assert {name: ((small_library / name).stat().st_mtime_ns, (small_library / name).read_bytes()) for name in before} == before


def test_library_items_become_works_that_demo_texts_describes():
    from clamp3.library import LibraryItem

    item = LibraryItem(7, "/x/a.abc", "a", "symbolic", "Title", {"kind": "folk", "region": "Germany", "country": "Germany",
                                                                  "voices": "1", "bars": "12", "work": "essen-a-1"})
    work = library_work(item)
    assert work["id"] == "essen-a-1" and work["item_id"] == 7 and work["voices"] == 1 and work["bars"] == 12
    assert demo.texts.describe(work, "en", title=False) == "a folk song from Germany, a single melody line, 12 bars"
    # a library keeps no features of what the notes do: the portrait takes them from the corpus, by work id
    assert demo.texts.portrait(work, "en") == "a folk song from Germany, a single melody line"
    music = {"essen-a-1": {"mode": "minor", "motion": "stepwise", "upbeat": True}, "other": {"mode": "major"}}
    with_music = library_work(item, music)
    assert with_music["music"] == music["essen-a-1"] and "music" not in library_work(item, {"other": {"mode": "major"}})
    assert demo.texts.portrait(with_music, "en") == ", ".join(["a folk song from Germany, a single melody line",
                                                              *demo.musicwords.music_phrases(music["essen-a-1"], "en")])
    assert len(demo.musicwords.music_phrases(music["essen-a-1"], "en")) == 3


def test_every_instrument_the_build_renders_has_queries_in_every_query_language():
    from demo.rendering_queries import QUERY_LANGUAGES, instrument_queries
    from demo.renderings import INSTRUMENTS

    for instrument in INSTRUMENTS:
        queries = instrument_queries(instrument)
        assert queries is not None, instrument
        assert set(queries) == set(QUERY_LANGUAGES) and all(q.strip() and "{" not in q for q in queries.values())


def test_a_rendering_goes_into_the_library_and_comes_back_for_the_evaluation():
    from types import SimpleNamespace

    from demo.evaluate import library_work
    from demo.release import rendering_fields

    rendering = {"instrument": "organ", "program": 19, "bpm": 60, "tempo": "slow", "dynamics": "soft"}
    fields = rendering_fields(rendering)
    assert fields == {"instrument": "organ", "tempo": "slow", "bpm": "60", "dynamics": "soft"}
    assert rendering_fields(None) == {}
    item = SimpleNamespace(metadata={"kind": "folk", "work": "w1", **fields}, title="T", name="w1", id=7)
    assert library_work(item)["rendering"] == {"instrument": "organ", "tempo": "slow"}


def test_the_model_card_says_which_training_run_left_no_record(tmp_path):
    """A stage reused from an earlier release (its run folder holds only the model) got an empty
    line in the card's Training section; it now says that the run left no record."""
    import json

    from demo.release import run_summary

    (tmp_path / "symbolic" / "final").mkdir(parents=True)
    assert run_summary(tmp_path / "symbolic").endswith("no record of the run (" + str(tmp_path / "symbolic") + " holds no config.yaml or metrics.jsonl)")
    run = tmp_path / "audio"
    run.mkdir()
    (run / "config.yaml").write_text("stage: audio\nepochs: 24\n")
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(e) for e in [
        {"event": "step", "step": 1, "elapsed_s": 30.0, "loss": 2.0},
        {"event": "step", "step": 2, "elapsed_s": 60.0, "loss": 1.5},
        {"event": "eval", "mrr": 0.25, "hit@10": 0.5}]) + "\n")
    assert run_summary(run) == ("- `audio`: stage=audio, epochs=24; 2 steps, 1 min on 2 CPU cores, final loss 1.500; "
                                "validation text -> music MRR 0.250, Hit@10 0.500")
    (run / "config.yaml").write_text("stage: symbolic\ntext_train_layers: 1\ntext_learning_rate: 5.0e-05\nepochs: 5\n")
    assert run_summary(run).startswith("- `audio`: stage=symbolic, text_train_layers=1, text_learning_rate=5e-05, epochs=5;")
    (run / "config.yaml").write_text("stage: audio\ntext_train_layers: 0\ntext_learning_rate: 0.0\nepochs: 24\n")
    assert run_summary(run).startswith("- `audio`: stage=audio, epochs=24;")  # settings a run did not use are not listed


def test_the_model_card_says_how_much_of_the_text_tower_was_trained():
    from clamp3.models import load_model
    from demo.release import text_tuned

    model = load_model("default")
    model.config.text_tuned_layers = 0
    assert text_tuned(model) == "**frozen**"
    model.config.text_tuned_layers = 1
    assert text_tuned(model).startswith("frozen but its top layer (1.8M parameters")
    model.config.text_tuned_layers = 2
    assert text_tuned(model).startswith("frozen but its top 2 layers (3.5M parameters")


def test_the_model_card_says_how_many_languages_each_work_was_described_in(tmp_path):
    """The card's Data section said "four drawn per work" after the recipe went to eight; it now
    counts the languages of each work's texts in the data the release was given."""
    from clamp3.assets import model_dir
    from demo.release import render_card

    works = [{"id": f"w{i}", "kind": "folk", "split": "train", "files": {"abc": f"music/train/w{i}.abc"},
              "texts": {lang: ["a song"] for lang in ("en", "de", "fr")[:3 if i else 2]}} for i in range(3)]
    (tmp_path / "works.jsonl").write_text("\n".join(json.dumps(w) for w in works) + "\n", encoding="utf-8")
    card = render_card(model_dir(), tmp_path, None, [])
    assert "`demo/languages.py`;\n3 drawn per work;" in card and "four drawn" not in card
    assert "3 works from the music21 corpus" in card


def test_a_release_that_goes_on_from_the_shipped_model_keeps_its_card_history(tmp_path, monkeypatch):
    """Each release since 2026-12-05 went on from the one before, and its card's earlier stage lines
    and Reproduce note were put back by hand; ``--continues`` keeps them and adds the new runs after them."""
    from clamp3.assets import model_dir
    from demo.release import earlier_card, main, render_card

    (tmp_path / "works.jsonl").write_text(json.dumps({"id": "w", "kind": "folk", "split": "train", "files": {}, "texts": {"en": ["a"]}}) + "\n")
    for name, stage in (("symbolic", "symbolic"), ("audio", "audio")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(f"stage: {stage}\nepochs: 2\n")
    first = render_card(model_dir(), tmp_path, None, [tmp_path / "symbolic"]) + "\nThe symbolic stage ran on 2026-12-03.\n"
    kept = earlier_card(first)
    assert kept == {"stages": ["- `symbolic`: stage=symbolic, epochs=2"],
                    "commands": ["    clamp3 train clamp3 --config demo/configs/symbolic.yaml"],
                    "note": "The symbolic stage ran on 2026-12-03."}
    card = render_card(model_dir(), tmp_path, None, [tmp_path / "audio", tmp_path / "symbolic"], kept, date="2026-12-07")
    assert ("- `symbolic`: stage=symbolic, epochs=2\n- `audio` (2026-12-07, from the release above): stage=audio, epochs=2\n"
            "- `symbolic` (2026-12-07, from that stage): stage=symbolic, epochs=2\n") in card
    reproduce = card[card.index("## Reproduce"):]
    assert reproduce.count("clamp3 train") == 2 and reproduce.index("symbolic.yaml") < reproduce.index("audio.yaml")
    assert reproduce.rstrip().endswith("--data data/demo\n\nThe symbolic stage ran on 2026-12-03.")
    assert "{" not in render_card(model_dir(), tmp_path, None, [])  # no history: nothing left of the template's fields
    with pytest.raises(ValueError, match="not a model card"):
        earlier_card("# a README\n")
    monkeypatch.setenv("CLAMP3_ASSETS", str(tmp_path / "assets"))  # no shipped card there
    with pytest.raises(SystemExit) as refused:  # refused before any work: no model copied
        main(["--model", str(tmp_path / "nowhere"), "--data", str(tmp_path), "--continues"])
    assert refused.value.code == 2 and not (tmp_path / "assets").exists()


def test_a_language_with_no_query_is_said_and_left_out_of_the_ratios():
    from demo.evaluate import retrieval, retrieval_summary, retrieval_table

    works = [{"id": "w", "title": "t"}]  # no kind: no description in any language
    assert retrieval(None, np.ones((1, 4), np.float32), works, "sv") == {"pool": 1, "queries": 0}
    results = {"en": {"hit@1": 0.2, "hit@10": 0.5, "mrr": 0.3}, "pt": {"hit@1": 0.1, "hit@10": 0.25, "mrr": 0.2},
               "sv": {"pool": 1, "queries": 0}}
    summary = retrieval_summary(results, ["pt", "sv"])  # pt untrained here, as for the first edition
    assert summary["hit@10_ratio"] == {"en": 1.0, "pt": 0.5}
    assert summary["min_ratio_heldout"] == {"language": "pt", "ratio": 0.5, "languages": 1}
    lines = retrieval_table({"retrieval": results, "retrieval_summary": summary}, ["en"])
    assert any(line.startswith("| sv | no | no work described in it") for line in lines)


def test_kinds_the_library_does_not_hold_come_from_the_corpus(small_library, tmp_path):
    """demo.release evaluates scores and audio from the library it built (with its map) and MTF,
    which the library does not hold, from the corpus."""
    from demo.evaluate import evaluate

    corpus = tmp_path / "corpus"
    (corpus / "music").mkdir(parents=True)
    works = []
    for i, source in enumerate(sorted((DATA / "golden" / "convert" / "mtf_official").glob("*.mtf"))[:6]):
        shutil.copy(source, corpus / "music" / source.name)
        country = "Germany" if i % 2 else "China"
        works.append({"id": source.stem, "kind": "folk", "region": country, "country": country, "metre": "4/4", "key": "G",
                      "split": "heldout" if i < 3 else "train", "files": {"mtf": f"music/{source.name}"}, "texts": {"en": ["x"]}})
    (corpus / "works.jsonl").write_text("".join(json.dumps(w) + "\n" for w in works), encoding="utf-8")
    report = evaluate("default", corpus, ["en", "de"], ("abc", "mtf"), library=small_library)
    abc, mtf = report["kinds"]["abc"], report["kinds"]["mtf"]
    assert abc["pool"] == 6 and abc["neighbours"]["folk"]["map_pool"] == 4  # the library's items, on its map
    assert mtf["pool"] == 3 and all(r["queries"] == 3 for r in mtf["retrieval"].values())
    assert "map_pool" not in mtf["neighbours"]["folk"]  # the corpus's MTF has no place on the library's map
    assert set(report["kinds"]) == set(evaluate("default", corpus, ["en"], ("abc", "mtf", "audio"), library=small_library)["kinds"])
    assert set(evaluate("default", None, ["en"], ("abc", "mtf"), library=small_library)["kinds"]) == {"abc"}  # no corpus: no MTF


def test_library_portraits_take_what_the_notes_do_from_the_corpus(small_library, tmp_path):
    """The shipped card's ABC and audio portraits were queries without the music's own features
    (the library keeps none): with the corpus given they come from its works.jsonl, by work id."""
    from demo.evaluate import evaluate

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    features = {"mode": "minor", "range": "narrow", "motion": "stepwise", "upbeat": True}
    works = [{"id": f"t{i:02d}", "kind": "folk", "split": "heldout", "files": {}, "music": features} for i in (0, 3, 6)]
    (corpus / "works.jsonl").write_text("".join(json.dumps(w) + "\n" for w in works), encoding="utf-8")
    plain = evaluate("default", None, ["en"], ("abc",), library=small_library)
    found = evaluate("default", corpus, ["en"], ("abc",), library=small_library)
    assert plain["portrait_music"] == 0.0 and found["portrait_music"] == 0.5  # 3 of the 6 held-out tunes
    assert "What the notes do (mode, range, motion, ...) is known for 50% " in table(found)
    # the descriptions (no music features) search alike; the portraits are other queries
    assert found["kinds"]["abc"]["retrieval"] == plain["kinds"]["abc"]["retrieval"]
    assert found["kinds"]["abc"]["retrieval_portrait"] != plain["kinds"]["abc"]["retrieval_portrait"]


def test_remembered_texts_encode_each_text_once():
    from clamp3 import Embedder
    from clamp3.models import load_model
    from demo.evaluate import RememberedTexts

    embedder = Embedder(load_model("default"))
    texts = RememberedTexts(embedder)
    first = texts.encode_texts(["a jig", "ein Volkslied", "a jig"])
    assert first.shape[0] == 3 and np.array_equal(first[0], first[2]) and len(texts.vectors) == 2
    assert np.allclose(first[:2], embedder.encode_texts(["a jig", "ein Volkslied"]), atol=1e-5)
    assert np.array_equal(texts.encode_texts(["ein Volkslied"])[0], first[1]) and len(texts.vectors) == 2


def test_the_shipped_release_is_evaluated_again_in_place(small_library, tmp_path):
    """demo.release --evaluate-only: metrics.json and the card's tables from the evaluation of
    today, the rest of the card kept; a card whose tables are not its metrics' is refused."""
    from clamp3.assets import LIBRARY_DIR, MODEL_DIR
    from demo.evaluate import evaluate
    from demo.release import evaluate_again

    assets = tmp_path / "assets"
    (assets / MODEL_DIR).mkdir(parents=True)
    shutil.copytree(small_library, assets / LIBRARY_DIR)
    shipped = evaluate("default", None, ["en"], ("abc",), library=small_library)
    card, metrics = assets / MODEL_DIR / "README.md", assets / MODEL_DIR / "metrics.json"
    metrics.write_text(json.dumps(shipped), encoding="utf-8")
    card.write_text("# the card\n\n" + table(shipped) + "\n## Limits\n", encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    works = [{"id": f"t{i:02d}", "kind": "folk", "split": "heldout", "files": {}, "music": {"mode": "minor", "motion": "stepwise"}}
             for i in (0, 3, 6, 9, 12, 15)]
    (corpus / "works.jsonl").write_text("".join(json.dumps(w) + "\n" for w in works), encoding="utf-8")
    report = evaluate_again(corpus, assets)
    assert report["portrait_music"] == 1.0 and json.loads(metrics.read_text(encoding="utf-8"))["portrait_music"] == 1.0
    assert card.read_text(encoding="utf-8") == "# the card\n\n" + table(report) + "\n## Limits\n"
    assert "What the notes do" in table(shipped) and "What the notes do" not in table(report)
    card.write_text("# a card edited by hand\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="its tables are not those of"):
        evaluate_again(corpus, assets)
    assert card.read_text(encoding="utf-8") == "# a card edited by hand\n"


def test_retrieval_takes_a_query_function_in_place_of_a_named_query():
    from demo.evaluate import retrieval

    class Words:  # a text "a" / "b" / "c" is the unit vector of that work
        def encode_texts(self, texts):
            return np.eye(3, dtype=np.float32)[["abc".index(t) for t in texts]]

    works = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    vectors = np.eye(3, dtype=np.float32)
    own = retrieval(Words(), vectors, works, "en", lambda work, lang: work["id"])
    assert own["hit@1"] == 1.0 and own["queries"] == 3
    shifted = retrieval(Words(), vectors, works, "en", lambda work, lang: "bca"["abc".index(work["id"])])
    assert shifted["hit@1"] == 0.0
    some = retrieval(Words(), vectors, works, "en", lambda work, lang: None if work["id"] == "c" else work["id"])
    assert some["queries"] == 2 and some["pool"] == 3
