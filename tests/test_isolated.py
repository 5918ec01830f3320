"""Reading files in child processes with a deadline and a memory budget (issue 16): a file that
overruns either is one error naming it, the other files are read, and the caller goes on."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from clamp3.errors import InputError
from clamp3.formats import read_many
from clamp3.formats.isolated import MEMORY_VARIABLE, SECONDS_VARIABLE

ROOT = Path(__file__).resolve().parent.parent
SCORES = ROOT / "tests" / "data" / "scores"


def _same_items(left, right) -> bool:
    return [(i.name, i.kind, i.data) for i in left] == [(i.name, i.kind, i.data) for i in right]


def test_files_read_in_children_are_what_is_read_in_process(monkeypatch):
    files = sorted(SCORES.iterdir()) + sorted((ROOT / "tests" / "data" / "bad").glob("*.abc"))
    expected = list(read_many(files))
    monkeypatch.setenv(SECONDS_VARIABLE, "60")
    monkeypatch.setenv(MEMORY_VARIABLE, "1024")
    got = list(read_many(files, workers=2))
    assert [p for p, _, _ in got] == files
    for (_, items, errors), (_, want_items, want_errors) in zip(got, expected):
        assert _same_items(items, want_items)
        assert [str(e) for e in errors] == [str(e) for e in want_errors]


def test_a_file_past_the_deadline_is_stopped_and_the_others_are_read(tmp_path, monkeypatch):
    """A reader that never returns (here a named pipe nobody writes for 40 s, as a server folder
    can hold) held its request, and under the model lock every visitor, until it returned."""
    pipe = tmp_path / "stuck.abc"
    os.mkfifo(pipe)

    def late_writer():  # without a deadline the read ends when this writes, and the test fails on its result
        time.sleep(40)
        with open(pipe, "w") as fifo:
            fifo.write((SCORES / "essen_book.abc").read_text())

    threading.Thread(target=late_writer, daemon=True).start()
    monkeypatch.setenv(SECONDS_VARIABLE, "5")
    good = SCORES / "essen_book.abc"
    results = {path.name: (items, errors) for path, items, errors in read_many([pipe, good])}
    items, errors = results["stuck.abc"]
    assert items == [] and [str(e) for e in errors] == [f"{pipe}: reading it took over 5 s, the limit; stopped"]
    items, errors = results["essen_book.abc"]
    assert errors == [] and len(items) == 3


def _long_silence(path: Path, seconds: int) -> Path:
    import soundfile

    rate = 8_000
    with soundfile.SoundFile(str(path), "w", samplerate=rate, channels=1, format="FLAC") as audio:
        block = np.zeros(rate * 60, dtype=np.float32)
        for _ in range(seconds // 60):
            audio.write(block)
    return path


def test_a_file_over_the_memory_budget_is_one_error_and_the_others_are_read(tmp_path, monkeypatch):
    """Forty minutes of audio decode to 230 MB at 24 kHz: over a budget of 150 MB the child that
    decodes it is stopped by its own address-space limit, not the process that asked."""
    long = _long_silence(tmp_path / "long.flac", 40 * 60)
    assert long.stat().st_size < 2**20
    short = ROOT / "tests" / "data" / "audio" / "clip_5.5s.wav"
    monkeypatch.setenv(MEMORY_VARIABLE, "150")
    results = {path.name: (items, errors) for path, items, errors in read_many([long, short])}
    items, errors = results["long.flac"]
    assert items == []
    assert len(errors) == 1 and str(errors[0]).startswith(f"{long}: ")
    assert "150 MB" in str(errors[0]) and "\n" not in str(errors[0])
    items, errors = results["clip_5.5s.wav"]
    assert errors == [] and items[0].kind == "waveform" and len(items[0].data) == pytest.approx(5.5 * 24_000, rel=0.01)


def test_running_out_of_memory_in_process_is_an_error_of_that_file(monkeypatch):
    """The CLI reads in its own process: a MemoryError was a traceback that ended the batch, and the
    good file beside the bad one was not read."""
    from clamp3 import formats

    real = formats.READERS[".abc"]

    def hungry(path):
        if path.name == "essen_book.abc":
            raise MemoryError
        return real(path)

    monkeypatch.setitem(formats.READERS, ".abc", hungry)
    bad, good = SCORES / "essen_book.abc", ROOT / "tests" / "data" / "bad" / "book_one_bad.abc"
    results = list(read_many([bad, good]))
    assert [str(e) for e in results[0][2]] == [f"{bad}: reading it ran out of memory"]
    assert results[1][1]  # the next file's good tunes


def test_the_app_refuses_a_stuck_upload_in_one_line_and_keeps_serving(tiny_model, tiny_model_dir, tmp_path, monkeypatch):
    """The app reads uploads within the read limits app.py sets: a stuck one is its own request's
    error, while a search by another visitor is answered."""
    sys.path.insert(0, str(ROOT))
    from clamp3 import Embedder, Library
    from explorers.context import Context, upload_message

    library = tmp_path / "library"
    files = sorted(SCORES.glob("*.abc"))
    Library(library, create=True).add(files, Embedder(tiny_model), progress=False)
    context = Context.load(str(tiny_model_dir), str(library), home=str(tmp_path / "home"))
    pipe = tmp_path / "upload.abc"
    os.mkfifo(pipe)
    monkeypatch.setenv(SECONDS_VARIABLE, "4")
    failures = []

    def upload():
        try:
            context.encode_file(pipe)
        except InputError as exc:
            failures.append(upload_message(exc))

    visitor = threading.Thread(target=upload, daemon=True)
    visitor.start()
    time.sleep(0.5)
    hits = context.search(context.encode_text("a folk song"), 3)
    assert visitor.is_alive()  # answered while the upload is still being read
    visitor.join(60)
    assert hits
    assert failures == ["upload.abc: reading it took over 4 s, the limit; stopped"]
    copy = tmp_path / "copy.abc"
    shutil.copy(SCORES / "essen_book.abc", copy)
    assert context.encode_file(copy).shape == (1, context.embedder.model.config.projection_size)


def test_the_audio_budget_is_set_by_the_environment_and_read_from_the_header(tmp_path, monkeypatch):
    """The app took a 2-hour WAV (~184 s under the lock, +1.4 GB): its budget is its own, and a long
    file is refused from its header before any of it is decoded."""
    long = _long_silence(tmp_path / "long.flac", 11 * 60)
    monkeypatch.setenv("CLAMP3_MAX_AUDIO_SECONDS", "600")
    ((_, items, errors),) = read_many([long])
    assert items == [] and [str(e) for e in errors] == [f"{long}: audio is 660 s long, over the limit of 600 s"]
    monkeypatch.delenv("CLAMP3_MAX_AUDIO_SECONDS")
    ((_, items, errors),) = read_many([long])  # the CLI's default: two hours
    assert errors == [] and len(items[0].data) == 660 * 24_000


def test_a_file_waits_for_a_reader_no_longer_than_a_reader_may_take(monkeypatch):
    """Under the soak's hostile mix, uploads queued for the readers (one per core) for minutes and
    ended in the client's timeout; a file now waits at most the deadline, then is refused in one line."""
    from clamp3.formats import isolated

    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(isolated, "_slots", slots)
    slots.acquire()  # every reader busy (released after 30 s: without the bound the read then succeeds)
    threading.Timer(30, slots.release).start()
    monkeypatch.setenv(SECONDS_VARIABLE, "3")
    good = SCORES / "essen_book.abc"
    ((_, items, errors),) = read_many([good])
    assert items == [] and [str(e) for e in errors] == [
        f"{good}: not read: every reader was busy for 3 s with other files; try again"
    ]
