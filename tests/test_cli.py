"""The command line, end to end, on real files and the tiny model."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest
from conftest import DATA, GOLDEN
from support import HEAVY_MODULES, run_fresh

from clamp3.cli import build_parser, main


@pytest.fixture
def mixed_folder(tmp_path):
    src = tmp_path / "src"
    (src / "bach").mkdir(parents=True)
    shutil.copy(DATA / "scores" / "bwv10.7.mxl", src / "bach" / "bwv10.7.mxl")
    shutil.copy(DATA / "scores" / "bwv277.krn", src / "bach" / "bwv277.krn")
    shutil.copy(DATA / "scores" / "essen_book.abc", src / "essen.abc")
    shutil.copy(GOLDEN / "convert" / "midi" / "bwv323.mid", src / "bach" / "bwv323.mid")
    (src / "notes.md").write_text("not music")  # ignored inside folders
    return src


def test_convert_mirrors_paths_skips_existing_and_overwrites(mixed_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["convert", str(mixed_folder), "--out", str(out), "--workers", "2", "-q"]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["bach/bwv10.7.abc", "bach/bwv277.abc", "bach/bwv323.mtf", "essen#1.abc", "essen#2.abc", "essen#3.abc"]
    expected_mtf = (GOLDEN / "convert" / "mtf_official" / "bwv323.mtf").read_text(encoding="utf-8")
    assert (out / "bach" / "bwv323.mtf").read_text(encoding="utf-8") == expected_mtf
    assert "converted 6, skipped 0 existing, failed 0" in capsys.readouterr().err

    (out / "bach" / "bwv277.abc").write_text("stale")
    assert main(["convert", str(mixed_folder), "--out", str(out), "-q"]) == 0
    assert "converted 0, skipped 6 existing" in capsys.readouterr().err
    assert (out / "bach" / "bwv277.abc").read_text() == "stale"
    assert main(["convert", str(mixed_folder), "--out", str(out), "-q", "--overwrite"]) == 0
    assert (out / "bach" / "bwv277.abc").read_text().startswith("%%score")


def test_convert_reports_bad_files_and_exits_1(tmp_path, capsys):
    out = tmp_path / "out"
    bad = [str(DATA / "bad" / name) for name in ("empty.abc", "garbage.mid", "garbage.xml", "truncated.mxl", "nomsg.mid", "nobars.abc")]
    assert main(["convert", *bad, str(DATA / "scores" / "bwv277.krn"), "--out", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("error: ") == 6 and "converted 1, skipped 0 existing, failed 6" in err
    assert [p.name for p in out.rglob("*") if p.is_file()] == ["bwv277.abc"]


def test_embed_writes_official_layout_and_reports_every_bad_input(tiny_model_dir, tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(GOLDEN / "embed_tiny" / "inputs", src / "good")
    shutil.copytree(DATA / "bad", src / "bad")
    out = tmp_path / "out"
    code = main(["embed", str(src), "--out", str(out), "--global", "--weights", str(tiny_model_dir), "-q", "--workers", "2"])
    err = capsys.readouterr().err
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    for name in ("empty.abc", "garbage.abc", "garbage.mid", "garbage.xml", "truncated.mxl", "nomsg.mid", "nobars.abc", "long.txt", "latin1.txt", "book_one_bad.abc#9"):
        assert sum(name in line for line in lines) == 1, name
    assert len(lines) == 10
    assert "embedded 15, skipped 0 existing, failed 10" in err
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy"))
    assert written == sorted(
        [f"good/{p.stem}.npy" for p in (GOLDEN / "embed_tiny" / "inputs").iterdir()]
        + ["bad/book_one_bad#1.npy", "bad/book_one_bad#2.npy"]
    )
    assert not list(out.rglob("*.tmp"))
    for path in (GOLDEN / "embed_tiny" / "global").iterdir():
        # the saved model keeps max_text_length=16 in its config, so texts match too
        np.testing.assert_allclose(np.load(out / "good" / path.name), np.load(path), atol=1e-4)


def test_embed_per_step_and_skip_existing(tiny_model_dir, tmp_path, capsys):
    src = GOLDEN / "embed_tiny" / "inputs" / "midi_1.mtf"
    out = tmp_path / "out"
    assert main(["embed", str(src), "--out", str(out), "--weights", str(tiny_model_dir), "-q"]) == 0
    steps = np.load(out / "midi_1.npy")
    np.testing.assert_allclose(steps, np.load(GOLDEN / "embed_tiny" / "steps" / "midi_1.npy"), atol=1e-4)
    assert main(["embed", str(src), "--out", str(out), "--weights", str(tiny_model_dir), "-q"]) == 0
    assert "embedded 0, skipped 1 existing" in capsys.readouterr().err


def test_embed_converts_scores_on_the_fly(tiny_model_dir, mixed_folder, tmp_path):
    out = tmp_path / "out"
    assert main(["embed", str(mixed_folder), "--out", str(out), "--global", "--weights", str(tiny_model_dir), "-q"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy")) == [
        "bach/bwv10.7.npy", "bach/bwv277.npy", "bach/bwv323.npy", "essen#1.npy", "essen#2.npy", "essen#3.npy"
    ]
    assert np.load(out / "bach" / "bwv323.npy").shape == (1, 48)


def test_weights_offline_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["embed", str(DATA / "scores"), "--out", str(tmp_path), "--weights", "c2", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot get the 'c2' weights") and "--weights PATH" in err and "\n" not in err


# Runs the CLI once per argument list (JSON in argv[1]) in one fresh interpreter and prints, per list,
# its exit status and which of HEAVY_MODULES were imported by then.
CLI_PROBE = """
import json, sys
from clamp3.cli import main
heavy, report = json.loads(sys.argv[2]), []
for argv in json.loads(sys.argv[1]):
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    report.append([argv, status, [m for m in heavy if m in sys.modules]])
print(json.dumps(report))
"""


def run_cli_fresh(*argvs: list[str]):
    """[(argv, exit status, heavy modules imported by then)], and the process (its stderr)."""
    report, done = run_fresh(CLI_PROBE, json.dumps(argvs), json.dumps(HEAVY_MODULES))
    return [tuple(row) for row in report], done


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every command and sub-command of the parser: ("embed",), ("index",), ("index", "add"), ..."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield (*prefix, name)
                yield from command_paths(command, (*prefix, name))


def test_help_of_every_command_answers_before_torch_is_imported():
    paths = list(command_paths(build_parser()))
    assert ("embed",) in paths and ("probe", "train") in paths and ("index", "add") in paths
    report, _ = run_cli_fresh(["--help"], *([*path, "--help"] for path in paths))
    assert [(argv, status) for argv, status, _ in report] == [(["--help"], 0)] + [([*path, "--help"], 0) for path in paths]
    assert not [(argv, heavy) for argv, _, heavy in report if heavy]


def test_option_errors_answer_before_torch_is_imported():
    report, done = run_cli_fresh(
        ["--no-such-option"],
        ["embed", "x", "--out", "o", "--no-such-option"],
        ["embed", "x", "--out", "o", "--dtype", "int7"],
        ["search", "q", "--top-k", "many"],
        ["train", "nothing"],
    )
    assert [status for _, status, _ in report] == [2] * 5
    assert not [(argv, heavy) for argv, _, heavy in report if heavy]
    for message in ("unrecognized arguments: --no-such-option", "argument --dtype: invalid choice: 'int7'",
                    "argument --top-k: invalid int value: 'many'", "argument objective: invalid choice: 'nothing'"):
        assert message in done.stderr


def test_missing_inputs_are_reported_before_torch_is_imported(tmp_path):
    missing = tmp_path / "no-such-folder"
    report, done = run_cli_fresh(*([command, str(missing), "--out", str(tmp_path / command), "-q"]
                                   for command in ("convert", "embed", "features")))
    assert [(argv[0], status, heavy) for argv, status, heavy in report] == [
        ("convert", 1, []), ("embed", 1, []), ("features", 1, [])
    ]
    assert done.stderr.count(f"error: {missing}: no such file or folder") == 3
    for verb in ("converted", "embedded", "extracted"):
        assert f"{verb} 0, skipped 0 existing, failed 1" in done.stderr


def test_option_errors_show_the_commands_usage_and_suggest_a_spelling():
    """Issue 18: ``--topk`` printed the top-level usage, and a misspelt command got no suggestion."""
    report, done = run_cli_fresh(
        ["search", "q", "--topk", "5"],
        ["index", "add", "x", "--index", "lib", "--wieghts", "w"],
        ["serch", "q"],
        ["index", "ad"],
        ["embed", "x", "--out", "o", "--dtype", "float61"],
    )
    assert [status for _, status, _ in report] == [2] * 5
    assert not [(argv, heavy) for argv, _, heavy in report if heavy]
    for message in (
        "clamp3 search: error: unrecognized arguments: --topk 5; did you mean '--top-k'?",
        "clamp3 index add: error: unrecognized arguments: --wieghts w; did you mean '--weights'?",
        "clamp3: error: argument COMMAND: invalid choice: 'serch'; did you mean 'search'?",
        "clamp3 index: error: argument ACTION: invalid choice: 'ad'; did you mean 'add'?",
        "argument --dtype: invalid choice: 'float61'; did you mean 'float16'?",
    ):
        assert message in done.stderr
    assert "usage: clamp3 search [-h]" in done.stderr and "usage: clamp3 index add [-h]" in done.stderr


def test_missing_inputs_of_every_command_are_refused_before_torch_is_imported(tmp_path):
    """Issue 18: classify, index add and search loaded the model (seconds) before saying a file was
    missing; a missing query file was searched for as words; index add left an empty library."""
    missing = str(tmp_path / "missing.mid")
    library = tmp_path / "lib"
    report, done = run_cli_fresh(
        ["classify", missing, "--labels", "jig,reel"],
        ["index", "add", missing, "--index", str(library), "-q"],
        ["search", missing],
        ["search", "a jig", str(tmp_path / "no-folder")],
        ["search", "a jig", "--index", str(tmp_path / "no-library")],
        ["score", str(tmp_path / "no-folder"), str(tmp_path)],
        ["probe", "predict", str(tmp_path / "probe.json"), str(tmp_path)],
        ["map", "--index", str(tmp_path / "no-library"), "--out", str(tmp_path / "map.html")],
    )
    assert [(argv[0], status, heavy) for argv, status, heavy in report] == [
        ("classify", 1, []), ("index", 1, []), ("search", 2, []), ("search", 2, []), ("search", 2, []),
        ("score", 2, []), ("probe", 2, []), ("map", 2, []),
    ]
    assert done.stderr.count(f"error: {missing}: no such file or folder") == 2
    assert "added 0 items" in done.stderr and not library.exists()
    assert f"error: {missing}: no such file (a query ending in .mid is read as a file)" in done.stderr
    for path in ("no-folder", "no-library", "probe.json"):
        assert f"error: {tmp_path / path}: no such file or folder" in done.stderr


def test_map_defaults_to_the_demo_library_and_writes_nothing_there(tmp_path, capsys):
    """Issue 18: ``clamp3 map`` required --index where ``search`` uses the demo library."""
    import hashlib

    from clamp3.assets import library_dir

    shipped = library_dir(unpack=False)
    before = hashlib.sha256((shipped / "library.sqlite3").read_bytes()).hexdigest()
    assert main(["map", "--out", str(tmp_path / "map.csv"), "--center", "--color-by", "region"]) == 0
    import csv

    with open(tmp_path / "map.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "x", "y", "title", "modality", "path", "region"]
    assert len(rows) == len(shipped.joinpath("map.csv").read_text().splitlines())
    assert hashlib.sha256((shipped / "library.sqlite3").read_bytes()).hexdigest() == before
    assert not list(shipped.glob("map-*.npy"))
