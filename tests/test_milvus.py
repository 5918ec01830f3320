"""The library on Milvus (issue 22): milvus-lite started for real, no mock. The library's
behaviour (incremental add, filters with hostile names and values, keyword, prune, remove, the
mixed search) on both stores; Milvus's search against the SQLite store's exact search on the same
vectors; a writer killed midway resumed by the next run; two torchrun ranks filling one collection.

Two processes cannot open one milvus-lite file (the first holds its lock): the tests that need
several processes serve it once (``python -m milvus_lite server``) and connect over milvus://.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

# pymilvus and milvus-lite are in requirements.txt: a missing one fails here, it is not skipped
import milvus_lite  # noqa: F401
import numpy as np
import pymilvus  # noqa: F401
import pytest
from conftest import DATA, GOLDEN
from support import serve_milvus_lite

from clamp3.embedding import Embedder
from clamp3.errors import InputError
from clamp3.library import Library, LibraryError, MilvusLibrary, open_library
from clamp3.library.milvus import literal
from clamp3.models import load_model

CONVERT = GOLDEN / "convert"
IDENTITY = {"model": "random", "fingerprint": "f", "dim": "32"}
HOSTILE = ['a"b', "it's", "x.y[0]", "$", 'v" or modality != "', "back\\slash", "100%", "a_b", "new\nline", "ünï"]


@pytest.fixture(params=["sqlite", "milvus"])
def target(request, tmp_path):
    """Where a new library goes: a folder, or a milvus-lite file."""
    return tmp_path / ("lib" if request.param == "sqlite" else "lib.db")


def test_targets_open_the_right_store(tmp_path):
    assert isinstance(open_library(tmp_path / "folder", create=True), Library)
    assert isinstance(open_library(tmp_path / "lite.db", create=True), MilvusLibrary)
    with pytest.raises(LibraryError, match="no library here"):
        open_library(tmp_path / "nothing.db")
    with pytest.raises(LibraryError, match="'bad-name' is not a collection name"):
        open_library("milvus://127.0.0.1:1/bad-name")


def test_the_command_line_fills_a_milvus_lite_file_that_another_process_reads(tmp_path, music, tiny_model_dir):
    """``clamp3 index add`` in one process, ``info``, ``list --where`` and ``search`` in others:
    the collections are read back from the file (not loaded yet in a new process)."""
    target = str(tmp_path / "lib.db")
    cli = [sys.executable, "-m", "clamp3.cli"]
    added = subprocess.run([*cli, "index", "add", str(music), "--index", target, "--weights", str(tiny_model_dir), "-q"],
                           capture_output=True, text=True)
    assert added.returncode == 0 and "added 11 items" in added.stderr, added.stderr[-2000:]
    info = subprocess.run([*cli, "index", "info", "--index", target], capture_output=True, text=True)
    assert json.loads(info.stdout)["items"] == 11, info.stderr[-2000:]
    listed = subprocess.run([*cli, "index", "list", "--index", target, "--where", "composer=J.S. Bach", "--json"], capture_output=True, text=True)
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["bwv10.7"], listed.stderr[-2000:]
    found = subprocess.run([*cli, "search", "a chorale", "--index", target, "--weights", str(tiny_model_dir), "--json", "--top-k", "3"],
                           capture_output=True, text=True)
    assert found.returncode == 0 and len(found.stdout.splitlines()) == 3, found.stderr[-2000:]


def test_literals_cannot_leave_their_quotes():
    assert literal('a"b') == '"a\\"b"' and literal("back\\") == '"back\\\\"'
    with pytest.raises(InputError, match="control character"):
        literal("bell\x07")


def test_add_is_incremental_by_content_and_prunes(target, music, embedder):
    library = open_library(target, create=True)
    report = library.add([music], embedder, progress=False)
    assert report.added == 11 and not report.failures  # 3 tunes in the book
    report = library.add([music], embedder, progress=False)
    assert (report.added, report.unchanged) == (0, 9)
    (music / "essen_book.abc").write_text((DATA / "scores" / "essen_book.abc").read_text().split("X:3")[0])
    report = library.add([music], embedder, progress=False)
    assert (report.added, report.replaced, report.unchanged) == (2, 1, 8)
    assert len(library) == 10
    (music / "bwv277.krn").unlink()
    assert library.prune() == [str((music / "bwv277.krn").resolve())]
    assert len(library) == 9 and library.info()["by_modality"] == {"symbolic": 9}
    first, second = library.items(limit=2)
    vector = library.vectors_of([second.id])
    assert library.update_metadata([(second.id, "Renamed", {"region": "Atlantis"}), (12345, "x", {})]) == 1
    assert [(t.id, t.title) for t in library.items(where={"region": "Atlantis"})] == [(second.id, "Renamed")]
    np.testing.assert_array_equal(library.vectors_of([second.id]), vector)
    assert library.remove([first.id, 12345]) == 1 and len(library) == 8
    assert library.meta()["fingerprint"] == library.use_model(embedder.model)["fingerprint"]
    assert library.vectors_version <= library.version  # what the maps are keyed on, on both stores
    if isinstance(library, MilvusLibrary):  # named sets are the SQLite store's: refused in a line
        assert library.sets() == {}
        with pytest.raises(LibraryError, match="SQLite store only"):
            library.tag([second.id], "mine")
        from clamp3.passages import search_passages

        with pytest.raises(LibraryError, match="SQLite store only"):
            search_passages(library, vector)


def test_a_library_emptied_says_so_with_and_without_a_filter(target, music, embedder):
    library = open_library(target, create=True)
    library.add([music / "bwv277.krn"], embedder, progress=False)
    query = library.vectors_of([library.items()[0].id])
    assert library.search(query, 3)[0] and library.search(query, 3, where={"region": "Atlantis"}) == [[]]
    library.remove([item.id for item in library.items()])
    for filters in ({}, {"where": {"region": "Atlantis"}}, {"modality": "audio"}, {"within": []}):
        with pytest.raises(LibraryError, match="the library is empty"):
            library.search(query, 3, **filters)
    with pytest.raises(LibraryError, match="the library is empty|dimensions"):  # (which is said first differs by store)
        library.search(np.ones((1, 7), np.float32), 3)


def test_filters_take_any_field_name_and_value(target, music, embedder):
    """Names and values that end a quoted literal, hold LIKE's wildcards or a newline: each finds
    its own item and nothing else (a value written into the expression would match everything)."""
    midis = sorted((music / "midi").iterdir())
    sidecar = {f"midi/{m.name}": {"region": HOSTILE[n], HOSTILE[-1 - n]: f"v{n}"} for n, m in enumerate(midis)}
    library = open_library(target, create=True)
    library.add([music], embedder, sidecar=sidecar, progress=False)
    query = library.vectors_of([library.items(limit=1)[0].id])
    for n, midi in enumerate(midis):
        name = midi.name[:-4]
        assert [t.name for t in library.items(where={"region": HOSTILE[n]})] == [name], HOSTILE[n]
        assert [t.name for t in library.items(where={HOSTILE[-1 - n]: f"v{n}"})] == [name], HOSTILE[-1 - n]
        assert [h.name for h in library.search(query, k=20, where={"region": HOSTILE[n]})[0]] == [name]
        assert [h.name for h in library.search(query, k=20, modality="symbolic", where={HOSTILE[-1 - n]: f"v{n}"})[0]] == [name]
    assert library.search(query, k=20, modality="audio")[0] == []
    assert {t.name for t in library.items(where={"composer": "J.S. Bach"})} == {"bwv10.7"}
    assert len(library.items(where={"tune_type": "romanze, ballade, lied"})) == 3
    keys = Counter(key for item in library.items() for key in item.metadata)
    assert library.fields() == sorted(keys, key=lambda k: (-keys[k], k))
    assert library.field_values("region") == sorted(HOSTILE[: len(midis)]) and library.field_values("") == []


def test_keyword_looks_in_titles_and_field_values(target, music, embedder):
    first, second = sorted((music / "midi").glob("*.mid"))[:2]
    library = open_library(target, create=True)
    library.add([music], embedder, sidecar={str(first): {"title": "Drops of 100% Brandy"}, str(second): {"region": "Ireland"}},
                progress=False)
    query = library.vectors_of([library.items(limit=1)[0].id])
    assert [h.path for h in library.search(query, 10, keyword="brandy")[0]] == [str(first)]
    assert [h.path for h in library.search(query, 10, keyword="IRELAND")[0]] == [str(second)]
    assert len(library.search(query, 10, keyword="100%")[0]) == 1  # LIKE's wildcards are literal
    assert library.search(query, 10, keyword="_")[0] == [] and library.search(query, 10, keyword="region")[0] == []
    with pytest.raises(InputError, match="at most 100"):
        library.search(query, 10, keyword="x" * 101)


def _random_rows(count: int, seed: int = 0, dim: int = 32) -> list[tuple]:
    """Rows for ``_commit_chunk``: a rare and a common region, odd field names, two modalities."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        metadata = {"region": "China" if i % 23 == 0 else ("Germany", "Lorraine")[i % 2], "n": str(i % 7), HOSTILE[i % 4]: f"v{i % 3}"}
        vector = rng.standard_normal(dim).astype(np.float32) * rng.uniform(0.5, 2.0)
        rows.append((f"/v/{i}", f"v{i}", "h", "audio" if i % 3 else "symbolic", f"t{i % 5}", json.dumps(metadata), vector.tobytes(), float(i)))
    return rows


def test_search_equals_the_sqlite_stores_exact_search(tmp_path):
    """The same vectors in both stores: Milvus's hits are the SQLite store's exact hits, in the
    same order with the same scores, with and without filters, at several k."""
    rows = _random_rows(3000)
    sqlite, milvus = Library(tmp_path / "lib", create=True), open_library(tmp_path / "lib.db", create=True)
    for library in (sqlite, milvus):
        for start in range(0, len(rows), 1000):
            library._commit_chunk(rows[start : start + 1000], IDENTITY)
    key_of = {item.id: (item.path, item.name) for library in (sqlite, milvus) for item in library.items()}
    queries = np.random.default_rng(1).standard_normal((3, 32)).astype(np.float32)
    filters = [({}, None, None), ({}, "audio", None), ({"region": "China"}, None, None), ({"region": "Germany", "n": "3"}, "symbolic", None),
               ({'a"b': "v1", "title": "t2"}, None, None), ({"region": "Atlantis"}, None, None), ({}, None, "lorraine")]
    for where, modality, keyword in filters:
        for k in (1, 10, 300):
            expected = sqlite.search(queries, k, modality, where, exact=True, keyword=keyword)
            found = milvus.search(queries, k, modality, where, keyword=keyword)
            for want, got in zip(expected, found):
                assert [key_of[h.id] for h in got] == [key_of[h.id] for h in want], (where, modality, k)
                np.testing.assert_allclose([h.score for h in got], [h.score for h in want], atol=1e-5)
    mixed = milvus.search_mixed(queries, k=20)
    assert all({h.modality for h in hits} == {"audio", "symbolic"} and [h.rank for h in hits] == list(range(1, 21)) for hits in mixed)


def test_a_library_of_another_model_is_refused(tmp_path, music, embedder):
    library = open_library(tmp_path / "lib.db", create=True)
    library._commit_chunk(_random_rows(5), IDENTITY)
    with pytest.raises(LibraryError, match="holds vectors of model 'random'"):
        library.add([music], embedder, progress=False)
    with pytest.raises(LibraryError, match="query vectors have 8 dimensions"):
        library.search(np.ones((1, 8), np.float32))


def _count(uri: str) -> int:
    try:
        library = MilvusLibrary(uri)
    except LibraryError:
        return 0
    try:
        return len(library)
    finally:
        library.close()


def test_a_writer_killed_midway_is_resumed_by_the_next_run(tmp_path, tiny_model_dir):
    """SIGKILL during ``index add`` into a Milvus server: what was written stays searchable, and
    the next run adds the rest, each file once."""
    source = tmp_path / "music"
    shutil.copytree(CONVERT / "abc_official", source / "abc")
    shutil.copytree(CONVERT / "midi", source / "midi")
    with serve_milvus_lite(tmp_path / "server") as base:
        uri = f"{base}/killed"
        command = [sys.executable, "-m", "clamp3.cli", "index", "add", str(source), "--index", uri,
                   "--weights", str(tiny_model_dir), "--chunk-files", "4", "-q"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 180
        while time.time() < deadline and _count(uri) < 12 and process.poll() is None:
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait()
        library = MilvusLibrary(uri)
        committed = len(library)
        assert 0 < committed < 118
        first = library.items(limit=1)[0]
        assert library.search(library.vectors_of([first.id]), k=1)[0][0].id == first.id
        assert subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode == 0
        info = library.info()
        assert (info["items"], info["files"]) == (118, 118)
        assert len({(item.path, item.name) for item in library.items()}) == 118


def test_torchrun_fills_one_collection_from_two_processes(tmp_path, tiny_model_dir):
    """``torchrun --nproc_per_node=2 -m clamp3.cli index add ... --index milvus://... --shard auto``:
    two writers, one collection, every item exactly once, the same vectors as one process adds
    to the SQLite store."""
    inputs = GOLDEN / "embed_tiny" / "inputs"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with serve_milvus_lite(tmp_path / "server") as base:
        done = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "clamp3.cli",
             "index", "add", str(inputs), "--index", f"{base}/two", "--shard", "auto", "--chunk-files", "2",
             "--weights", str(tiny_model_dir), "-q"],
            capture_output=True, text=True, env=env,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr.count("added ") == 2  # one summary per process
        two = MilvusLibrary(f"{base}/two")
        items = two.items()
        both = {(item.name, item.modality): two.vectors_of([item.id])[0] for item in items}
    one = Library(tmp_path / "one", create=True)
    one.add([inputs], Embedder(load_model(str(tiny_model_dir))), progress=False)
    alone = {(item.name, item.modality): one.vectors_of([item.id])[0] for item in one.items()}
    assert len(items) == len(alone) == len(list(inputs.iterdir()))  # each once
    assert sorted(both) == sorted(alone)
    for key in alone:
        np.testing.assert_allclose(both[key], alone[key], atol=1e-6)


def test_the_app_searches_and_adds_to_a_milvus_library(tmp_path, tiny_model, tiny_model_dir, music):
    """``app.py --index FILE.db``: the search tab's field = value filter and the library tab's add,
    on the Milvus store."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from explorers import library as library_tab
    from explorers import search
    from explorers.context import Context

    midis = sorted((music / "midi").iterdir())
    open_library(tmp_path / "lib.db", create=True).add(
        [music / "midi"], Embedder(tiny_model), sidecar={str(p): {"region": ("Alsace", "Tyrol")[i % 2]} for i, p in enumerate(midis)},
        progress=False,
    )
    (tmp_path / "root").mkdir()
    context = Context.load(str(tiny_model_dir), str(tmp_path / "lib.db"), roots=[str(tmp_path / "root")], home=str(tmp_path / "home"),
                           read_only=False, shared_writable=True)
    assert isinstance(context.library, MilvusLibrary)
    hits = search.search(context, "a folk song", None, k=10, field="region", value="Tyrol").hits
    assert len(hits) == 3 and {h.metadata["region"] for h in hits} == {"Tyrol"}
    shutil.copy(music / "bwv277.krn", tmp_path / "root")
    assert library_tab.add(context, [], str(tmp_path / "root"), "visitor", progress=False).startswith("added 1 items")
    assert len(context.library) == 7
