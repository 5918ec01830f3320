"""Bad inputs named in issues 2-7 that no other test held to its message, each through the entry
point a user meets it at: the CLI, the Python API or the app's handlers.

docs/bad_inputs.md lists every bad input of those issues with the test that checks it, here or
in the other test files.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, GOLDEN, TINY_OFFICIAL, TINY_TEXT_MODEL

from clamp3.cli import main

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # app.py and explorers/ for the app's handlers


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


# --- issue 2: weights -------------------------------------------------------------------------
def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage, not a checkpoint" * 10)


def _code(path: Path) -> None:
    with path.open("wb") as handle:  # a pickle that would call print if unpickled freely
        pickle.dump({"model": {}, "callback": print}, handle, protocol=2)


@pytest.mark.parametrize(("make", "reason"), [
    (None, "not found: expected a preset (c2, m3, saas), a model directory, a .pth file or a hub id"),
    (_garbage, "not a loadable PyTorch checkpoint (UnpicklingError: refused by the weights-only loader: Unsupported operand"),
    (_code, "not a loadable PyTorch checkpoint (UnpicklingError: refused by the weights-only loader: Unsupported global: GLOBAL"),
], ids=["missing", "garbage", "pickled_code"])
def test_weights_missing_or_not_a_checkpoint_are_one_line_and_exit_2(tmp_path, capsys, make, reason):
    weights = tmp_path / "weights.pth"
    if make is not None:
        make(weights)
    out = tmp_path / "out"
    args = ["embed", str(DATA / "scores" / "bwv277.krn"), "--out", str(out), "--weights", str(weights),
            "--text-model", str(TINY_TEXT_MODEL), "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "weights.pth" in err and reason in err
    assert "weights_only` set to `False`" not in err  # torch's advice to load untrusted pickles is not passed on
    assert not out.exists()


# --- issue 3: audio in a batch ----------------------------------------------------------------
def test_embed_reports_each_bad_audio_file_and_embeds_the_odd_ones(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["embed", str(DATA / "bad_audio"), "--out", str(out), "--global", "--weights", str(TINY_OFFICIAL),
            "--text-model", str(TINY_TEXT_MODEL), "--mert", str(GOLDEN / "mert_tiny" / "tiny-mert"), "--no-cache", "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err
    lines = error_lines(err)
    expected = {
        "empty.wav": "file is empty",
        "corrupt.mp3": "not a readable audio file (corrupt or truncated audio data)",  # libsndfile says 'does not exist'
        "notes.flac": "not a readable audio file (Format not recognised)",
    }
    assert len(lines) == len(expected)
    for name, reason in expected.items():
        (line,) = [line for line in lines if name in line]
        assert line == f"error: {DATA / 'bad_audio' / name}: {reason}"
    assert "embedded 3, skipped 0 existing, failed 3" in err
    written = sorted(p.name for p in out.rglob("*") if p.is_file())
    assert written == ["short_0.3s.npy", "silence_3s.npy", "six_channels_96k.npy"]
    assert all(np.load(out / name).shape == (1, 48) for name in written)


# --- issue 4: libraries -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def other_model_dir(tiny_model, tmp_path_factory):
    """A model of another size (8-d vectors) whose vectors must never meet the tiny model's."""
    from clamp3.config import CLaMP3Config, EncoderConfig
    from clamp3.models import CLaMP3Model, save_pretrained

    config = CLaMP3Config(
        text_model=str(TINY_TEXT_MODEL), text_config=tiny_model.config.text_config,
        symbolic=EncoderConfig(hidden_size=32, num_layers=1, max_length=8),
        audio=EncoderConfig(hidden_size=16, num_layers=1, max_length=8), projection_size=8,
    )
    model = CLaMP3Model(config)
    model.tokenizer = tiny_model.tokenizer
    return save_pretrained(model, tmp_path_factory.mktemp("other") / "model")


@pytest.mark.parametrize("command", ["search", "index add"])
def test_another_models_library_is_refused_naming_both_models(tmp_path, capsys, tiny_model_dir, other_model_dir, command):
    library = tmp_path / "lib"
    assert main(["index", "add", str(DATA / "scores" / "bwv277.krn"), "--index", str(library), "--weights", str(tiny_model_dir), "-q"]) == 0
    capsys.readouterr()
    if command == "search":
        args = ["search", "a chorale", "--index", str(library)]
    else:
        args = ["index", "add", str(DATA / "scores" / "essen_book.abc"), "--index", str(library), "-q"]
    assert main([*args, "--weights", str(other_model_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {library} holds vectors of model '{tiny_model_dir}' (48-d, ")
    assert f"the model in use is '{other_model_dir}' (8-d, " in err
    from clamp3.library import Library

    assert len(Library(library)) == 1


def test_sidecar_with_unknown_paths_is_reported_and_the_add_goes_on(tmp_path, capsys, tiny_model_dir):
    sidecar = tmp_path / "meta.csv"
    sidecar.write_text("path,region\nbwv277.krn,Saxony\nnowhere.mid,Atlantis\n", encoding="utf-8")
    library = str(tmp_path / "lib")
    args = ["index", "add", str(DATA / "scores" / "bwv277.krn"), "--index", library, "--meta", str(sidecar),
            "--weights", str(tiny_model_dir), "-q"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "warning: nowhere.mid: no file with this path was added; its metadata is not used" in err.splitlines()
    assert "added 1 items" in err
    assert main(["index", "list", "--index", library, "--where", "region=Saxony"]) == 0
    assert capsys.readouterr().out.count("bwv277.krn") == 1


def test_an_unreadable_sidecar_is_one_line_and_leaves_no_library(tmp_path, capsys, tiny_model_dir):
    sidecar = tmp_path / "meta.jsonl"
    sidecar.write_text('{"path": "bwv277.krn", "region": "Saxony"}\n{"path": \n', encoding="utf-8")
    library = tmp_path / "lib"
    args = ["index", "add", str(DATA / "scores" / "bwv277.krn"), "--index", str(library), "--meta", str(sidecar),
            "--weights", str(tiny_model_dir), "-q"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {sidecar}: line 2 is not JSON (")
    assert not library.exists()


def test_eval_where_nothing_pairs_lists_the_files_and_says_how_files_pair(tmp_path, capsys):
    for folder, name in (("q", "jig.npy"), ("r", "reel.npy")):
        (tmp_path / folder).mkdir()
        np.save(tmp_path / folder / name, np.ones((1, 8), dtype=np.float32))
    args = ["eval", str(tmp_path / "q"), str(tmp_path / "r"), "--embeddings", "--out", str(tmp_path / "ranks.jsonl")]
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: unmatched query jig.npy", "warning: unmatched reference reel.npy",
                   "error: no query file pairs with a reference file (pairs share folder and name before the first dot)"]
    assert not (tmp_path / "ranks.jsonl").exists()


# --- issue 5: training data and settings ------------------------------------------------------
@pytest.fixture
def pairs(tmp_path):
    """Eight good text-score pairs in the official JSONL layout; lines 1-8 of ``lines``."""
    data = tmp_path / "data"
    data.mkdir()
    scores = sorted((GOLDEN / "convert" / "abc_official").glob("bach__*.abc"))[:8]
    lines = []
    for i, score in enumerate(scores):
        shutil.copy(score, data / f"s{i}.abc")
        lines.append(json.dumps({"id": str(i), "filepaths": [f"s{i}.abc"], "analysis": f"chorale number {i}"}))
    shutil.copy(DATA / "bad" / "nobars.abc", data / "bars.abc")
    return data, lines


BAD_LINES = {
    "not_json": ("{not json", "not JSON (Expecting property name enclosed in double quotes)"),
    "not_an_object": ("[1, 2]", "not a JSON object"),
    "missing_file": (json.dumps({"filepaths": ["gone.abc"], "analysis": "x"}), "missing music file {data}/gone.abc"),
    "empty_text": (json.dumps({"filepaths": ["s0.abc"], "analysis": " "}), "empty text"),
    "rejected_score": (json.dumps({"filepaths": ["bars.abc"], "analysis": "no bars"}),
                       "{data}/bars.abc: ABC has no bars (no '|' in the tune body)"),
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_a_bad_training_line_is_logged_with_its_number_and_training_goes_on(pairs, tmp_path, capsys, tiny_model_dir, kind):
    data, lines = pairs
    line, reason = BAD_LINES[kind]
    (data / "train.jsonl").write_text("\n".join([*lines, line]) + "\n", encoding="utf-8")
    args = ["train", "clamp3", f"train_data={data / 'train.jsonl'}", f"weights={tiny_model_dir}", f"output_dir={tmp_path / 'run'}",
            "max_bad_fraction=0.2", "max_steps=1", "batch_size=4", "eval_split=0", "-q"]
    assert main(args) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"warning: {data / 'train.jsonl'}:9: {reason.format(data=data)}" in err
    assert err[-1] == f"trained model: {tmp_path / 'run' / 'final'}"


@pytest.mark.parametrize("where", ["eval_data", "eval_split"])
def test_a_score_the_converter_rejects_among_the_eval_pairs_is_bad_data_too(pairs, tmp_path, capsys, tiny_model_dir, where):
    data, lines = pairs
    bad = json.dumps({"filepaths": ["bars.abc"], "analysis": "no bars"})
    if where == "eval_data":
        (data / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (data / "eval.jsonl").write_text("\n".join([bad, *lines[:3]]) + "\n", encoding="utf-8")
        settings, numbered = [f"eval_data={data / 'eval.jsonl'}"], data / "eval.jsonl"
    else:  # the first quarter of the pairs is held out, the bad one among them
        (data / "train.jsonl").write_text("\n".join([bad, *lines]) + "\n", encoding="utf-8")
        settings, numbered = ["eval_split=0.25"], data / "train.jsonl"
    args = ["train", "clamp3", f"train_data={data / 'train.jsonl'}", f"weights={tiny_model_dir}", f"output_dir={tmp_path / 'run'}",
            "max_bad_fraction=0.5", "epochs=2", "batch_size=4", *settings, "-q"]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"warning: {numbered}:1: {data / 'bars.abc'}: ABC has no bars" in err


@pytest.mark.parametrize(("settings", "config", "message"), [
    (["nonsense=1"], None, "override 'nonsense=1' is not key=value with a key of ['accumulation', "),
    ([], "nonsense: 1\n", "unknown training settings ['nonsense']"),
    (["stage=video"], None, "stage must be one of ['audio', 'symbolic'], got 'video'"),
    ([], "missing", "missing.yaml: not a readable YAML file of training settings (No such file or directory)"),
    ([], "epochs: [1\n", "cfg.yaml: not a readable YAML file of training settings (while parsing a flow sequence"),
    ([], "- epochs\n", "cfg.yaml: expected a mapping of training settings (key: value lines)"),
], ids=["unknown_override", "unknown_key_in_config", "bad_value", "missing_config", "config_not_yaml", "config_not_a_mapping"])
def test_bad_training_settings_are_one_line_and_exit_2(tmp_path, capsys, settings, config, message):
    args = ["train", "clamp3", *settings]
    if config is not None:
        path = tmp_path / ("missing.yaml" if config == "missing" else "cfg.yaml")
        if config != "missing":
            path.write_text(config, encoding="utf-8")
        args += ["--config", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err  # no progress bar drawn first


# --- issue 6: the embedded default ------------------------------------------------------------
def test_other_weights_without_an_index_are_told_how_to_build_their_space(tiny_model_dir, capsys, tmp_path, monkeypatch, demo_items):
    """Issue 19: the demo library under other weights: one line saying how to build their space
    (it was: "no library given"); nothing is written."""
    from clamp3.io import cache_home

    monkeypatch.setenv("CLAMP3_CACHE", str(tmp_path / "cache"))  # (no space of these weights made by another test)
    assert main(["search", "a chorale", "--weights", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "demo-library holds vectors of model 'default' (384-d, " in err
    assert f"which has no space in it yet: add --build-space to embed its {demo_items} items" in err
    assert not (cache_home() / "spaces").exists()


# --- issue 7: the app -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scores():
    """Five scores: the library holds the first four."""
    return sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:5]


@pytest.fixture(scope="module")
def library_dir(tiny_model, scores, tmp_path_factory):
    from clamp3 import Embedder, Library

    folder = tmp_path_factory.mktemp("library")
    Library(folder, create=True).add(scores[:4], Embedder(tiny_model), progress=False)
    return folder


@pytest.fixture
def context(tiny_model_dir, library_dir, tmp_path):
    from explorers.context import Context

    shutil.copytree(library_dir, tmp_path / "library")
    return Context.load(str(tiny_model_dir), str(tmp_path / "library"), roots=[], home=str(tmp_path / "home"), read_only=False)


def _handlers(context, scores):
    import app
    from explorers import classify, compare, maps, search

    return {
        "search": lambda f: search.search(context, "", f),
        "classify": lambda f: classify.classify(context, f, "jig\nreel", "{}"),
        "map": lambda f: maps.pin(context, [], np.zeros((0, 2)), "", f),
        "embed": lambda f: app.embed(context, "", f),
        "compare": lambda f: compare.compare(context, [str(p) for p in scores[:2]], [str(scores[2]), f], bootstrap=0),
    }


@pytest.mark.parametrize("tab", ["search", "classify", "map", "embed", "compare"])
def test_a_corrupt_upload_is_a_clear_message_in_the_page_and_the_app_keeps_serving(context, scores, tmp_path, tab):
    import gradio as gr

    from explorers.common import shown_errors

    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06 broken")
    with pytest.raises(gr.Error) as info:  # what the page shows: the handlers run under shown_errors
        shown_errors(_handlers(context, scores)[tab])(str(corrupt))
    message = info.value.message
    assert "corrupt.mid: not a readable MIDI file (" in message and "\n" not in message
    assert str(tmp_path) not in message  # the upload's name, not the server's folders
    from explorers import search

    assert len(search.search(context, "a chorale", None, k=3).hits) == 3


def test_a_corrupt_upload_to_the_library_is_a_report_line_and_the_rest_is_added(context, scores, tmp_path):
    from explorers import library

    corrupt = tmp_path / "corrupt.mid"
    corrupt.write_bytes(b"MThd\x00\x00\x00\x06 broken")
    report = library.add(context, [str(corrupt), str(scores[4])], "", "session", progress=False).splitlines()
    assert report[0].startswith("added 1 items") and report[0].endswith("failed 1")
    assert report[1:] == ["corrupt.mid: not a readable MIDI file (EOFError: the data ends early)"]  # no server folder (issue 16)
    assert len(context.session_library("session")) == 1 and len(context.library) == 4


# --- issue 16: budgets before work ------------------------------------------------------------
def interleaved_abc(voices: int, lines: int) -> str:
    header = "X:1\nL:1/8\nM:4/4\nK:C\n" + "".join(f"V:{v}\n" for v in range(1, voices + 1))
    return header + "".join("".join(f"[V:{v}]cdef|" for v in range(1, voices + 1)) + "\n" for _ in range(lines))


def test_a_score_over_the_bar_budget_is_one_line_and_the_batch_goes_on(tiny_model_dir, tmp_path, capsys, monkeypatch):
    """Issue 16: the bar limit counted bars per voice, so more voices got round it (a 10 MB
    interleaved ABC ended in MemoryError and stopped the batch); MusicXML was converted before any
    measure was counted. The budget is bars over all voices, before conversion or patching."""
    monkeypatch.setenv("CLAMP3_MAX_SCORE_BARS", "5000")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "wide.abc").write_text(interleaved_abc(voices=40, lines=200))  # 8,000 bars, 200 per voice
    shutil.copy(DATA / "scores" / "bwv277.krn", tmp_path / "src" / "good.krn")
    code = main(["embed", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--global", "--weights", str(tiny_model_dir), "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert error_lines(err) == [f"error: {tmp_path / 'src' / 'wide.abc'}: ABC tune has 8,000 bars over all its voices, over the limit of 5,000"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.npy"]
    monkeypatch.setenv("CLAMP3_MAX_SCORE_BARS", "50")
    assert main(["convert", str(DATA / "scores" / "bwv10.7.mxl"), "--out", str(tmp_path / "abc"), "-q"]) == 1
    assert "MusicXML score has " in capsys.readouterr().err and not (tmp_path / "abc").exists()


def test_a_midi_file_over_the_byte_budget_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    """Issue 16: a 2 MB MIDI file took ~47 s and ~0.9 GB to read in the app; the budget (bytes, a
    bound on its events) is set by the environment, stricter in app.py, and holds for the reader, the
    metadata and the preview alike."""
    from clamp3.errors import InputError
    from clamp3.formats import read_items
    from clamp3.preview import score_preview

    midi = GOLDEN / "convert" / "midi" / "bwv10.7.mid"
    size = midi.stat().st_size
    monkeypatch.setenv("CLAMP3_MAX_MIDI_BYTES", str(size - 1))
    for read in (read_items, lambda path: score_preview(path)):
        with pytest.raises(InputError, match=r"bwv10.7.mid: file is .* MB, over the .* MB this reader takes"):
            read(midi)
    monkeypatch.setenv("CLAMP3_MAX_MIDI_BYTES", str(size))
    assert read_items(midi)[0].kind == "mtf"


def test_a_midi_file_over_the_message_budget_is_refused_before_it_is_patched(tmp_path, monkeypatch):
    """Issue 16 (the soak's hostile mix): a 500 KB MIDI file of 128,000 messages, under the byte
    budget, became as many patches and held the app's model for some 100 s. Messages are budgeted
    as a score's bars are (CLAMP3_MAX_MIDI_MESSAGES; app.py: 20,000), for MIDI and MTF alike."""
    import mido

    from clamp3.errors import InputError
    from clamp3.formats import read_items

    midi = GOLDEN / "convert" / "midi" / "bwv10.7.mid"
    count = len(mido.MidiFile(str(midi)).merged_track)
    mtf = tmp_path / "bwv10.7.mtf"
    mtf.write_text(read_items(midi)[0].data)
    lines = mtf.read_text().count("\n")
    monkeypatch.setenv("CLAMP3_MAX_MIDI_MESSAGES", str(count - 1))
    with pytest.raises(InputError, match=rf"bwv10.7.mid: MIDI file has {count:,} messages, over the limit of {count - 1:,}$"):
        read_items(midi)
    monkeypatch.setenv("CLAMP3_MAX_MIDI_MESSAGES", str(lines - 1))
    with pytest.raises(InputError, match="bwv10.7.mtf: MIDI file has .* messages, over the limit"):
        read_items(mtf)
    monkeypatch.setenv("CLAMP3_MAX_MIDI_MESSAGES", str(max(count, lines)))
    assert read_items(midi)[0].kind == "mtf" and read_items(mtf)[0].kind == "mtf"


def test_a_tune_book_as_a_query_is_its_first_tune_and_a_bad_later_tune_does_not_fail_it(embedder, tmp_path):
    """`clamp3 search BOOK.abc` embedded every tune of the book (548 for music21's han1.abc) and
    failed on the first tune that could not be read, whichever it was; the query is now the
    book's first tune that reads, as the app takes an upload."""
    from clamp3.errors import InputError
    from clamp3.folders import encode_query

    good, bad = "T:Eins\nM:4/4\nL:1/8\nK:G\nGABc dedB|AGFA G4|\n", "T:Zwei\nM:4/4\nK:C\nCDEF GABc\n"
    (tmp_path / "book.abc").write_text(f"X:1\n{bad}\nX:2\n{good}\nX:3\n{bad}", encoding="utf-8")
    (tmp_path / "one.abc").write_text(f"X:1\n{good}", encoding="utf-8")
    (tmp_path / "none.abc").write_text(f"X:1\n{bad}\nX:2\n{bad}", encoding="utf-8")
    query = encode_query(embedder, str(tmp_path / "book.abc"))
    assert query.shape == (1, embedder.encode_texts(["x"]).shape[1])
    np.testing.assert_allclose(query, encode_query(embedder, str(tmp_path / "one.abc")), atol=1e-5)
    with pytest.raises(InputError, match="ABC has no bars"):
        encode_query(embedder, str(tmp_path / "none.abc"))
