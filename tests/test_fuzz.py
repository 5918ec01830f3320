"""Every reader against mutated and pathological files: it returns, or raises a declared error.

A reader may refuse any input, but only with a :class:`clamp3.errors.Clamp3Error`; any other
exception is a bug, and so is an input that takes longer than ``BUDGET_S`` per item it holds (a
hang detector set far above what these inputs need, not a timing test; a tune book's items are
its tunes). A failing input is saved under
``$TMPDIR/clamp3-fuzz/<reader>/`` and named in the failure; replay it with
``python -m fuzz.fuzz_readers <reader> <file>``, and once fixed keep it in ``tests/data/fuzz/<reader>/``,
where :func:`test_saved_crashers_hold_the_contract` replays every file.

By default each reader gets a short, fixed set of inputs; ``--fuzz-examples N`` runs N random
ones per reader (``fuzz/README.md`` has the long campaigns).
"""

from __future__ import annotations

import io
import json
import struct
import sys
import time
import traceback
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_OFFICIAL, TINY_TEXT_MODEL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clamp3.errors import CheckpointError, Clamp3Error, InputError
from clamp3.formats import read_items
from clamp3.metadata import read_sidecar
from clamp3.models.loading import load_official, read_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fuzz/ harnesses at the repository root
from fuzz.targets import TARGETS, Hang, mutate, regression_inputs, save_input, seeds_of  # noqa: E402

BUDGET_S = 5.0
HANG_S = 60.0  # past this an input is stopped, and fails as a hang
QUICK_EXAMPLES = 12


@pytest.fixture
def fuzz_settings(request):
    examples = request.config.getoption("--fuzz-examples")
    return settings(
        max_examples=examples or QUICK_EXAMPLES,
        derandomize=examples is None,  # the default run is the same on every machine
        database=None,
        deadline=None,  # the budget is checked in holds_contract, with the input saved
        suppress_health_check=list(HealthCheck),
    )


def holds_contract(name: str, data: bytes, directory: Path) -> None:
    """Run reader ``name`` on ``data``; fail naming the saved input on a broken contract."""
    started = time.perf_counter()
    try:
        TARGETS[name].run(data, directory, hang=HANG_S)
    except (Exception, Hang) as exc:
        saved = save_input(name, data)
        detail = "".join(traceback.format_exception_only(exc)).strip()
        raise AssertionError(f"{name} raised an undeclared {detail} on {saved}") from exc
    took, items = time.perf_counter() - started, TARGETS[name].items(TARGETS[name].cut(data))
    if took > BUDGET_S * items:
        raise AssertionError(f"{name} took {took:.1f} s for {items} item(s), over {BUDGET_S} s each, on {save_input(name, data)}")


@pytest.mark.parametrize("name", list(TARGETS))
def test_reader_holds_the_contract_on_mutated_files(name, fuzz_settings, tmp_path):
    seeds = seeds_of(name)

    @fuzz_settings
    @given(st.integers(0, len(seeds) - 1), st.randoms(use_true_random=False))
    def check(index, rng):
        holds_contract(name, mutate(seeds[index], rng, seeds), tmp_path)

    check()


@pytest.mark.parametrize("name,path", regression_inputs(), ids=lambda value: getattr(value, "name", value))
def test_saved_crashers_hold_the_contract(name, path, tmp_path):
    holds_contract(name, path.read_bytes(), tmp_path)


# --- structure-aware inputs -------------------------------------------------------------------
ABC_TOKENS = (
    "X:1\n", "T:t\n", "M:4/4\n", "M:none\n", "L:1/8\n", "L:0\n", "K:C\n", "K:Bbm\n", "K:none\n", "V:1\n", "V:2 clef=bass\n",
    "Q:1/4=120\n", "%%score (1 2)\n", "%%MIDI program 1\n", "[V:1]", "[V:2]", "[K:G]", "[M:3/4]", "\n", " ",
    "A", "B,", "c'", "^f", "_e", "=g", "z", "x", "2", "/2", "3/", ">", "<", "(3", "[CEG]", "{g}", "~", ".", "-",
    "|", "||", "|]", "[|", "|:", ":|", "::", "[1", "[2", ":|2", '"Am"', '"^text|bar"', "!trill!", "+f+", "&",
    "\\\n", "w: la la\n", "% comment\n", "\"",
)  # fmt: skip


def test_abc_reader_holds_the_contract_on_generated_tunes(fuzz_settings, tmp_path):
    @fuzz_settings
    @given(st.lists(st.sampled_from(ABC_TOKENS), max_size=80).map("".join))
    def check(tune):
        holds_contract("abc", ("X:1\nL:1/8\nK:C\n" + tune).encode(), tmp_path)

    check()


def test_one_tune_of_a_book_is_the_tune_the_book_reader_numbers(fuzz_settings):
    """``book_tune`` (previews) takes the same tune as ``split_tunes`` (the reader) for any book:
    X: numbers repeated, missing or odd, a preamble or none."""
    from clamp3.formats.abc import book_tune, split_tunes

    lines = st.sampled_from(["X:1\n", "X:2\n", "X:\n", "X: 7 \n", "T:t\n", "K:C\n", "abc|\n", "%%x\n", "\n", "X:10\n"])

    @fuzz_settings
    @given(st.lists(lines, max_size=30).map("".join))
    def check(text):
        tunes = split_tunes(text)
        assert book_tune(text, None) == tunes[0][1]
        if len(tunes) > 1:
            for number, tune in tunes:
                assert book_tune(text, number) == tune
            with pytest.raises(KeyError):
                book_tune(text, "no such number")

    check()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


def test_sidecar_reader_holds_the_contract_on_generated_tables(fuzz_settings, tmp_path):
    keys = st.sampled_from(["path", "title", "", "x,y", '"', "\n"])

    @fuzz_settings
    @given(st.lists(st.dictionaries(keys, JSON_VALUES, max_size=4), max_size=5))
    def check(rows):
        holds_contract("sidecar_jsonl", "\n".join(json.dumps(row) for row in rows).encode(), tmp_path)
        table = io.StringIO()
        for row in rows:
            table.write(",".join(json.dumps(str(value)) for value in row.values()) + "\n")
        holds_contract("sidecar_csv", table.getvalue().encode(), tmp_path)

    check()


# --- checkpoints whose tensors lie about the model -------------------------------------------
def _forgeries() -> dict[str, object]:
    state = torch.load(TINY_OFFICIAL, map_location="cpu", weights_only=True)["model"]
    layer = next(k for k in state if k.startswith("symbolic_model.base.encoder.layer.1."))
    hidden = "symbolic_model.base.embeddings.LayerNorm.weight"
    return {
        # a zero-stride view: four bytes stored, a billion-wide LayerNorm claimed
        "zero-stride tensor": state | {hidden: torch.zeros(1).expand(10**9)},
        "meta tensor": state | {hidden: torch.zeros(10**9, device="meta")},  # a shape and no data at all
        "sparse tensor": state | {"text_proj.weight": state["text_proj.weight"].to_sparse()},
        "layer index of a billion": state | {layer.replace("layer.1.", "layer.999999999."): state[layer]},
        "scalar projection": state | {"text_proj.weight": torch.tensor(1.0)},
        "1-d patch embedding": state | {"symbolic_model.patch_embedding.weight": torch.zeros(4)},
        "LayerNorm of 65,536": state | {hidden: torch.ones(2**16)},  # 16 GB per dense layer if built
        "missing key": {k: v for k, v in state.items() if k != hidden},
        "integer keys": {1: torch.zeros(1)},
        "not a dict": [torch.zeros(1)],
        "empty state": {},
    }


@pytest.mark.parametrize("forgery", list(_forgeries()))
def test_official_loader_refuses_forged_checkpoints_before_building(forgery, tmp_path):
    path = tmp_path / "forged.pth"
    torch.save(_forgeries()[forgery], path)
    started = time.perf_counter()
    with pytest.raises(CheckpointError):
        load_official(path, text_model=str(TINY_TEXT_MODEL))
    assert time.perf_counter() - started < BUDGET_S


def test_official_loader_reads_the_untouched_checkpoint_with_weights_only(tmp_path):
    import pickle

    path = tmp_path / "pickled.pth"
    with path.open("wb") as file:  # a plain pickle that would run code if unpickled freely
        pickle.dump({"model": {}, "callback": print}, file, protocol=2)
    with pytest.raises(CheckpointError, match="not a loadable PyTorch checkpoint"):
        read_checkpoint(path)
    assert load_official(TINY_OFFICIAL, text_model=str(TINY_TEXT_MODEL)) is not None


@pytest.mark.parametrize(
    "name,content",
    [("config.json", b"{not json"), ("config.json", b"[1, 2]"), ("model.safetensors", b"\xff" * 64), ("model.safetensors", b"")],
)
def test_saved_model_with_a_corrupt_file_raises_a_declared_error(name, content, tiny_model_dir, tmp_path):
    import shutil

    from clamp3.models.loading import load_pretrained

    folder = shutil.copytree(tiny_model_dir, tmp_path / "model")
    (folder / name).write_bytes(content)
    with pytest.raises(Clamp3Error):  # CheckpointError, or ConfigError for fields that are not the config's
        load_pretrained(folder)


# --- pathological files: refused or cut cheaply ------------------------------------------------
def _refused_quickly(path: Path, reader=read_items, match: str | None = None) -> None:
    started = time.perf_counter()
    with pytest.raises(Clamp3Error, match=match):
        reader(path)
    assert time.perf_counter() - started < BUDGET_S, f"{path.name} took {time.perf_counter() - started:.1f} s"


def _midi(track: bytes, claimed_length: int | None = None) -> bytes:
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96)
    return header + b"MTrk" + struct.pack(">I", len(track) if claimed_length is None else claimed_length) + track


def test_abc_meter_is_not_run_as_python(tmp_path):
    # abc2xml evaluated the numerator of M: with eval(); a tune without voice fields reaches it
    import builtins

    payload = "__import__('builtins').setattr(__import__('builtins'),'clamp3_meter_ran',1)or(4)"
    path = tmp_path / "meter.abc"
    path.write_text(f"X:1\nM:{payload}/4\nL:1/4\nK:G\nG2 | B2B2c2c2 | d4d2 |\n")
    (item,) = read_items(path)
    assert not hasattr(builtins, "clamp3_meter_ran")
    assert "M:4/4" in item.data  # as abc2xml takes any meter it cannot read


@pytest.mark.parametrize("voices", ["V:1\n", ""], ids=["voices", "no-voices"])
def test_abc_of_a_million_bars_is_refused(voices, tmp_path):
    path = tmp_path / "bars.abc"
    path.write_text("X:1\nL:1/8\nM:4/4\nK:C\n" + voices + "CDEF GABc|" * 1_000_000 + "\n")
    _refused_quickly(path, match="bars per voice")


def test_abc_books_of_a_million_tunes_or_a_huge_preamble_are_refused(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text("".join(f"X:{i}\nK:C\nabc|\n" for i in range(1_000_000)))
    _refused_quickly(path, match="tunes, over the limit")
    path.write_text("%" + "x" * 2**20 + "\n" + "X:1\nK:C\nabc|\n" * 1000)
    _refused_quickly(path, match="before the first X:")


def test_long_abc_without_voices_is_refused_before_abc2xml(tmp_path):
    path = tmp_path / "one_bar.abc"
    path.write_text("X:1\nL:1/8\nK:C\n" + "CDEF GABc " * 100_000 + "|\n")
    _refused_quickly(path, match="without voice fields")


def test_midi_of_ten_million_notes_is_refused_by_its_size(tmp_path):
    path = tmp_path / "notes.mid"
    # running status: each further note-on is a delta and two data bytes
    path.write_bytes(_midi(b"\x00\x90\x3c\x40" + b"\x00\x3c\x40" * 10_000_000 + b"\x00\xff\x2f\x00"))
    _refused_quickly(path, match="over the 2 MB")


def test_midi_header_claiming_a_huge_track_is_refused(tmp_path):
    path = tmp_path / "claims.mid"
    path.write_bytes(_midi(b"\x00\x90\x3c\x40\x60\x80\x3c\x40", claimed_length=0xFFFFFFFF))
    _refused_quickly(path, match="not a readable MIDI file")


def test_text_of_a_hundred_megabytes_is_refused_unread(tmp_path):
    path = tmp_path / "one_line.txt"
    with path.open("wb") as file:  # sparse: one line of 100 MB, refused by its size
        file.write(b"a" * 1024)
        file.truncate(100 * 2**20)
    _refused_quickly(path, match="over the 1 MB")


@pytest.mark.parametrize("suffix", [".txt", ".abc", ".mid", ".xml", ".mtf"])
def test_a_device_is_not_read_forever(suffix, tmp_path):
    path = tmp_path / f"zeros{suffix}"
    path.symlink_to("/dev/zero")
    _refused_quickly(path, match="MB")


def test_deeply_nested_musicxml_is_refused(tmp_path):
    depth = 200_000
    nested = b"<score-partwise>" + b"<part>" * depth + b"</part>" * depth + b"</score-partwise>"
    (tmp_path / "nested.xml").write_bytes(nested)
    _refused_quickly(tmp_path / "nested.xml")
    with zipfile.ZipFile(tmp_path / "nested.mxl", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("score.xml", nested)
    _refused_quickly(tmp_path / "nested.mxl")


@pytest.mark.parametrize("octave", ["999999999", "&#57;&#57;&#57;&#57;&#57;&#57;&#57;&#57;&#57;", "-999999999"])
def test_musicxml_of_a_note_a_billion_octaves_up_is_refused(octave, tmp_path):
    # xml2abc writes an octave mark per octave: the old reader built a gigabyte string
    score = seeds_of("musicxml")[0].replace(b"<octave>4</octave>", f"<octave>{octave}</octave>".encode(), 1)
    (tmp_path / "octave.xml").write_bytes(score)
    _refused_quickly(tmp_path / "octave.xml", match="<octave> is -?999999999")


def test_mxl_that_inflates_past_the_limit_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "bomb.mxl", "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("score.xml", "w", force_zip64=True) as member:
            for _ in range(80):
                member.write(b" " * 2**20)
    _refused_quickly(tmp_path / "bomb.mxl", match="inflates to over")


def test_audio_header_claiming_hours_at_one_hertz_is_refused(tmp_path):
    import soundfile

    path = tmp_path / "slow.wav"
    soundfile.write(path, np.zeros(8000, dtype=np.float32), 1, subtype="PCM_16")
    # 8,000 frames at 1 Hz: over two hours, 192 million samples once resampled to 24 kHz
    _refused_quickly(path, match="over the limit of 7200 s")


def test_features_header_claiming_a_trillion_frames_is_refused(tmp_path):
    path = tmp_path / "claims.npy"
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 8), }"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + header.ljust(117).encode() + b"\n" + b"\0" * 64)
    _refused_quickly(path, match="not a NumPy")


def test_sidecar_of_deeply_nested_json_is_refused(tmp_path):
    path = tmp_path / "nested.jsonl"
    path.write_text('{"path": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    _refused_quickly(path, reader=read_sidecar, match="line 1 is not JSON")


def test_sidecar_with_a_wide_header_over_short_rows_is_read_in_linear_time(tmp_path):
    # 240 kB: csv.DictReader gave each one-field row all 100,000 columns (minutes)
    path = tmp_path / "wide.csv"
    path.write_text("path" + ",x" * 100_000 + "\n" + "a\n" * 20_000)
    started = time.perf_counter()
    assert read_sidecar(path) == {"a": {}}
    assert time.perf_counter() - started < BUDGET_S


def test_a_refusal_names_the_file_and_the_limit(tmp_path):
    path = tmp_path / "big.txt"
    with path.open("wb") as file:
        file.truncate(3 * 2**20)
    with pytest.raises(InputError) as caught:
        read_items(path)
    assert caught.value.path == str(path) and "3.0 MB, over the 1 MB" in caught.value.reason
