"""The retrieval commands end to end on real scores with the tiny model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import DATA, GOLDEN

from clamp3.cli import main

CONVERT = GOLDEN / "convert"


def test_index_search_and_list(tmp_path, tiny_model_dir, capsys):
    weights = ["--weights", str(tiny_model_dir)]
    assert main(["index", "add", str(DATA / "scores"), "--index", str(tmp_path / "lib"), *weights, "-q"]) == 0
    assert "added 6 items" in capsys.readouterr().err
    assert main(["search", "Ein Volkslied aus Deutschland", "--index", str(tmp_path / "lib"), *weights, "--json", "--top-k", "3"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["rank"] for h in hits] == [1, 2, 3] and hits[0]["score"] >= hits[2]["score"]
    assert main(["search", str(DATA / "scores" / "bwv277.krn"), "--index", str(tmp_path / "lib"), *weights, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["name"] == "bwv277"
    assert main(["search", "Ein Volkslied", "--index", str(tmp_path / "lib"), *weights, "--json", "--modality", "all"]) == 0
    mixed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # issue 18: calibrated, each modality's order
    assert mixed[0]["calibrated"] == 1.0 and all("calibrated" in h for h in mixed)
    assert main(["index", "list", "--index", str(tmp_path / "lib"), "--where", "title=Herzog Ernst"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert main(["index", "info", "--index", str(tmp_path / "lib")]) == 0
    assert json.loads(capsys.readouterr().out)["items"] == 6


def test_search_official_form_ranks_a_folder(tiny_model_dir, capsys):
    assert main(["search", str(DATA / "scores" / "bwv10.7.mxl"), str(DATA / "scores"), "--weights", str(tiny_model_dir), "--json"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(hits) == 6 and hits[0]["path"] in ("bwv10.7.mxl", "bwv10.7_plain.xml") and hits[0]["score"] == pytest.approx(1.0, abs=1e-5)


def test_eval_and_score(tmp_path, tiny_model_dir, capsys):
    queries, references = tmp_path / "q", tmp_path / "r"
    queries.mkdir(), references.mkdir()
    for name in ("bwv10.7", "bwv277"):
        suffix = ".mxl" if name == "bwv10.7" else ".krn"
        shutil.copy(DATA / "scores" / f"{name}{suffix}", references / f"{name}{suffix}")
        shutil.copy(DATA / "scores" / f"{name}{suffix}", queries / f"{name}.copy{suffix}")
    shutil.copy(DATA / "scores" / "essen_book.abc", queries / "unpaired.abc")
    weights = ["--weights", str(tiny_model_dir)]
    out = tmp_path / "ranks.jsonl"
    assert main(["eval", str(queries), str(references), *weights, "--out", str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["queries"] == 2 and metrics["mrr"] == 1.0 and metrics["unmatched"] == 3
    assert [json.loads(line)["rank"] for line in out.read_text().splitlines()] == [1, 1]
    scores = tmp_path / "pairs.jsonl"
    assert main(["score", str(queries), str(references), *weights, "--out", str(scores)]) == 0
    rows = [json.loads(line) for line in scores.read_text().splitlines()]
    assert len(rows) == 2 and all(row["similarity"] == pytest.approx(1.0, abs=1e-5) for row in rows)
    assert "unmatched query" in capsys.readouterr().err
    assert main(["score", str(queries), str(references), *weights, "--group"]) == 0
    assert "group similarity" in capsys.readouterr().out


def test_eval_on_official_npy_folders(tmp_path, capsys):
    rng = np.random.default_rng(0)
    (tmp_path / "q" / "a").mkdir(parents=True), (tmp_path / "r" / "a").mkdir(parents=True)
    for i in range(20):
        vector = rng.standard_normal(8)
        np.save(tmp_path / "r" / "a" / f"s{i}.npy", vector[None])
        np.save(tmp_path / "q" / "a" / f"s{i}.v1.npy", (vector + 0.01 * rng.standard_normal(8))[None])
    assert main(["eval", str(tmp_path / "q"), str(tmp_path / "r"), "--embeddings", "--out", str(tmp_path / "ranks.jsonl")]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["queries"] == 20 and metrics["hit@1"] == 1.0


def test_classify_and_distance(tmp_path, tiny_model_dir, capsys):
    weights = ["--weights", str(tiny_model_dir)]
    args = ["classify", str(DATA / "scores"), "--labels", "chorale,folk song,jig", "--template", "{}", "--template", "It is a {}.", "--json", *weights]
    assert main(args) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 6
    for row in rows:
        assert set(row["probabilities"]) == {"chorale", "folk song", "jig"}
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert row["label"] == max(row["probabilities"], key=row["probabilities"].get)
    assert main(["classify", "--labels", "a,b"]) == 2  # nothing to classify: one line saying what to give
    assert "give files or folders to classify, or --index DIR" in capsys.readouterr().err
    assert main(["classify", str(DATA / "scores"), "--labels", "one", *weights]) == 2
    assert main(["distance", str(CONVERT / "midi"), str(DATA / "scores"), *weights, "--bootstrap", "20"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frechet_distance"] >= 0 and result["ci95"][0] <= result["ci95"][1] and result["generated"] == 6


def test_probe_train_and_predict_from_file_names(tmp_path, tiny_model_dir, capsys):
    folder = tmp_path / "labelled"
    folder.mkdir()
    midis = sorted((CONVERT / "midi").glob("*.mid"))[:12]
    abcs = sorted((CONVERT / "abc_official").glob("bach__*.abc"))[:12]
    for path in midis:
        shutil.copy(path, folder / f"midi_{path.name}")
    for path in abcs:
        shutil.copy(path, folder / f"score_{path.name}")
    weights = ["--weights", str(tiny_model_dir)]
    probe = tmp_path / "probe.json"
    assert main(["probe", "train", str(folder), "--out", str(probe), "--eval-split", "0.25", *weights]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classes"] == ["midi", "score"] and report["eval"] == 6 and report["train"] == 18
    assert report["accuracy"] >= 0.8  # MTF and ABC patches look nothing alike
    assert sum(map(sum, report["confusion"])) == 6
    assert main(["probe", "predict", str(probe), str(folder), *weights]) == 0
    predictions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    correct = sum(p["label"] == p["file"].split("_")[0] for p in predictions)
    assert len(predictions) == 24 and correct >= 20


def test_probe_from_library_metadata_and_map(tmp_path, tiny_model_dir, capsys):
    weights = ["--weights", str(tiny_model_dir)]
    library = str(tmp_path / "lib")
    assert main(["index", "add", str(DATA / "scores"), str(CONVERT / "midi"), "--index", library, *weights, "-q"]) == 0
    capsys.readouterr()
    assert main(["probe", "train", "--index", library, "--label-field", "tune_type", "--out", str(tmp_path / "p.json")]) == 2
    assert "at least two classes" in capsys.readouterr().err
    assert main(["map", "--index", library, "--out", str(tmp_path / "map.csv"), "--color-by", "composer"]) == 0
    lines = (tmp_path / "map.csv").read_text().splitlines()
    assert lines[0] == "id,x,y,title,modality,path,composer" and len(lines) == 62
    assert main(["map", "--index", library, "--out", str(tmp_path / "map.html")]) == 0
    html = (tmp_path / "map.html").read_text()
    assert "Das Hildebrandslied" in html and "plotly" in html
    assert len(list((tmp_path / "lib").glob("map-*.npz"))) == 1  # the layout is cached per version


def test_more_like_this_and_a_steered_query_weigh_their_parts(tmp_path, tiny_model_dir, tiny_model, capsys):
    """Issue 20: ``--like ID`` searches with an item's vector (the item itself first); texts and
    items combine with weights (``--plus``, ``--minus``, ``--part-weights``), checked against the
    weighted sum computed here; bad parts get one line each."""
    from clamp3 import Embedder, Library
    from clamp3.retrieval import normalize

    weights, lib = ["--weights", str(tiny_model_dir)], str(tmp_path / "lib")
    assert main(["index", "add", str(DATA / "scores"), "--index", lib, *weights, "-q"]) == 0
    library = Library(lib, read_only=True)
    item = library.items()[2]
    assert main(["search", "--like", str(item.id), "--index", lib, *weights, "--json", "--top-k", "6"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert hits[0]["id"] == item.id and hits[0]["score"] == pytest.approx(1.0, abs=1e-5)

    args = ["search", "a chorale", "--like", str(item.id), "--plus", "four voices", "--minus", "a dance",
            "--part-weights", "1,0.5,2,0.25", "--index", lib, *weights, "--json", "--top-k", "6"]
    assert main(args) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    embedder = Embedder(tiny_model)
    texts = normalize(embedder.encode_texts(["a chorale", "four voices", "a dance"]))
    expected = normalize((1 * texts[0] + 0.5 * library.vectors_of([item.id])[0] + 2 * texts[1] - 0.25 * texts[2])[None])
    ids, matrix = library.matrix()
    order = np.argsort(-(matrix @ expected[0]))
    assert {h["id"] for h in hits} == {int(ids[i]) for i in order[:6]}  # (two of the files hold the same score: a tie)
    np.testing.assert_allclose([h["score"] for h in hits], (matrix @ expected[0])[order[:6]], atol=1e-5)

    for bad, message in ((["--like", "999999"], "no item with the id 999999"),
                         (["x", "--plus", "y", "--part-weights", "0,0"], "weights are all zero"),
                         (["x", "--minus", "x"], "cancel out"),
                         (["x", "--plus", "y", "--part-weights", "1"], "1 weights for 2 query parts"),
                         (["x", "--part-weights", "one"], "expected numbers"),
                         ([], "give a QUERY")):
        assert main(["search", *bad, "--index", lib, *weights]) != 0
        assert message in capsys.readouterr().err


def test_classify_a_library_writes_the_top_class_as_a_field_to_filter_and_colour_by(tmp_path, tiny_model_dir, tiny_model, capsys):
    """Issue 20: ``classify --index DIR --write-field F`` writes each item's top class (and its
    probability) into its metadata; ``--where F=class`` then finds exactly those items."""
    from clamp3 import Embedder, Library
    from clamp3.zero_shot import ZeroShotClassifier

    weights, lib = ["--weights", str(tiny_model_dir)], str(tmp_path / "lib")
    assert main(["index", "add", str(DATA / "scores"), "--index", lib, *weights, "-q"]) == 0
    args = ["classify", "--index", lib, "--labels", "chorale,folk song,dance", "--write-field", "genre_guess", *weights, "--json"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    printed = {row["id"]: row["label"] for row in map(json.loads, out.splitlines())}
    assert "wrote 'genre_guess'" in err and len(printed) == 6
    library = Library(lib, read_only=True)
    classifier = ZeroShotClassifier.from_templates(Embedder(tiny_model).encode_texts, ["chorale", "folk song", "dance"])
    for item in library.items():
        expected = classifier.predict(library.vectors_of([item.id])).ranking()[0]
        assert item.metadata["genre_guess"] == expected[0] == printed[item.id]
        assert item.metadata["genre_guess_probability"] == f"{expected[1]:.3f}"
    label = library.items()[0].metadata["genre_guess"]
    assert main(["index", "list", "--index", lib, "--where", f"genre_guess={label}", "--json"]) == 0
    listed = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert listed == [i for i, found in printed.items() if found == label]
    for bad, message in ((["--write-field", "title"], "cannot be a field to write"),
                         (["--write-field", "a b"], "cannot be a field to write"),
                         (["--where", "region=Nowhere", "--write-field", "x"], "no item to classify")):
        assert main(["classify", "--index", lib, "--labels", "a,b", *bad, *weights]) != 0
        assert message in capsys.readouterr().err


def test_index_tag_makes_a_named_set_that_search_and_list_filter_by(tmp_path, tiny_model_dir, capsys):
    """Issue 20: ``index tag --set NAME`` puts items into a named set (the field set:NAME = yes, in
    the library and its spaces), ``index sets`` lists them, ``search --set`` and ``index list --set``
    (or --where 'set:NAME=yes') keep to them, ``--remove`` takes items out; bad input is one line."""
    from clamp3 import Library
    from clamp3.assets import default_index

    weights, lib = ["--weights", str(tiny_model_dir)], str(tmp_path / "lib")
    assert main(["index", "add", str(DATA / "scores"), "--index", lib, *weights, "-q"]) == 0
    ids = [item.id for item in Library(lib, read_only=True).items()]
    capsys.readouterr()
    assert main(["index", "tag", "--index", lib, "--set", "two chorales", "--ids", f"{ids[0]},{ids[1]}"]) == 0
    assert "put 2 items into the set 'two chorales'" in capsys.readouterr().err
    assert main(["index", "tag", "--index", lib, "--set", "Herzog", "--where", "title=Herzog Ernst"]) == 0
    assert main(["index", "sets", "--index", lib]) == 0
    assert capsys.readouterr().out.splitlines() == ["Herzog\t2", "two chorales\t2"]
    assert main(["search", "Ein Volkslied", "--index", lib, *weights, "--json", "--set", "two chorales"]) == 0
    assert sorted(json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()) == ids[:2]
    assert main(["index", "list", "--index", lib, "--where", "set:Herzog=yes", "--json"]) == 0
    assert {json.loads(line)["title"] for line in capsys.readouterr().out.splitlines()} == {"Herzog Ernst"}
    assert main(["index", "tag", "--index", lib, "--set", "two chorales", "--ids", str(ids[0]), "--remove"]) == 0
    assert main(["index", "list", "--index", lib, "--set", "two chorales", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == [ids[1]]
    assert main(["index", "info", "--index", lib]) == 0
    assert json.loads(capsys.readouterr().out)["sets"] == {"Herzog": 2, "two chorales": 1}
    for bad, message in ((["index", "tag", "--index", lib, "--set", "a=b", "--ids", "1"], "'a=b' cannot name a set"),
                         (["index", "tag", "--index", lib, "--set", "x", "--ids", "1,z"], "--ids takes item ids"),
                         (["index", "tag", "--index", lib, "--set", "x", "--ids", "99999"], "no item with the id 99999"),
                         (["index", "tag", "--index", lib, "--set", "x"], "give the items"),
                         (["index", "tag", "--index", lib, "--set", "x", "--where", "title=Nothing"], "nothing to put into the set"),
                         (["index", "list", "--index", lib, "--set", "nope"], "no set named 'nope'; its sets: Herzog, two chorales"),
                         (["index", "tag", "--index", str(default_index(unpack=False)), "--set", "x", "--ids", "1"],
                          "the demo library that ships in assets/ is never changed")):
        assert main(bad) == 2, bad
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_the_plain_listing_leaves_a_named_sets_field_out():
    from clamp3.cli.search import _metadata_summary

    assert _metadata_summary({"region": "China", "set:my reels": "yes", "metre": "2/4", "split": "train"}) == "  [China, 2/4]"
    assert _metadata_summary({"set:a": "yes"}) == ""
