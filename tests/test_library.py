"""The SQLite library: incremental adds, search against brute force, ANN, crash safety, bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA, GOLDEN

from clamp3.embedding import Embedder
from clamp3.errors import Clamp3Error, InputError
from clamp3.library import Library, LibraryError, model_identity
from clamp3.retrieval import normalize

CONVERT = GOLDEN / "convert"


def test_add_is_incremental_by_content(tmp_path, music, embedder):
    library = Library(tmp_path / "lib", create=True)
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


def test_a_prune_that_fails_midway_changes_nothing(tmp_path, music, embedder):
    library = Library(tmp_path / "lib", create=True)
    library.add([music / "midi"], embedder, progress=False)
    version, paths = library.version, sorted({row[0] for row in library.db.execute("SELECT path FROM items")})
    for midi in (music / "midi").iterdir():
        midi.unlink()
    # the second file's delete fails inside the transaction, after the first one's went through
    library.db.execute(f"CREATE TRIGGER fail BEFORE DELETE ON items WHEN old.path = '{paths[1]}' BEGIN SELECT RAISE(ABORT, 'disk gone'); END")
    with pytest.raises(sqlite3.IntegrityError, match="disk gone"):
        library.prune()
    assert len(library) == 6 and library.version == version  # rolled back, not left open
    library.db.execute("DROP TRIGGER fail")
    assert sorted(library.prune()) == paths and len(library) == 0 and library.version == version + 1


def test_metadata_from_files_and_sidecar(tmp_path, music, embedder):
    midi = sorted((music / "midi").iterdir())[0].name
    sidecar = {"essen_book.abc": {"region": "Germany"}, f"midi/{midi}": {"region": "Saxony"}, "nowhere.mid": {"x": "1"}}
    library = Library(tmp_path / "lib", create=True)
    report = library.add([music], embedder, sidecar=sidecar, progress=False)
    assert report.unknown_sidecar_paths == ["nowhere.mid"]
    assert [t.name for t in library.items(where={"region": "Saxony"})] == [midi[:-4]]
    tunes = library.items(where={"region": "Germany"})
    assert [t.title for t in tunes] == ["Das Hildebrandslied", "Herzog Ernst", "Herzog Ernst"]
    assert tunes[0].metadata["origin"] == "Europa, Mitteleuropa, Deutschland"
    assert library.items(where={"composer": "J.S. Bach"})[0].name == "bwv10.7"
    keys = Counter(key for item in library.items() for key in item.metadata)
    assert library.fields() == sorted(keys, key=lambda k: (-keys[k], k)) and "region" in keys
    assert library.field_values("region") == ["Germany", "Saxony"] and library.field_values("region", limit=1) == ["Germany"]
    assert library.field_values("nothing") == [] and library.field_values("") == []


def test_any_field_name_filters_and_lists(tmp_path, music, embedder):
    """Issue 16: a field name was written into a JSON path, so names holding '"', '.', '[' or '$'
    matched nothing or broke the query; it is bound as a value now."""
    midi = sorted((music / "midi").iterdir())[0].name
    odd = ['a"b', "x.y[0]", "$", "it's"]
    library = Library(tmp_path / "lib", create=True)
    library.add([music], embedder, sidecar={f"midi/{midi}": {key: f"v{n}" for n, key in enumerate(odd)}}, progress=False)
    for n, key in enumerate(odd):
        assert [t.name for t in library.items(where={key: f"v{n}"})] == [midi[:-4]], key
        assert library.field_values(key) == [f"v{n}"], key
        assert library.search(library.vectors_of([1]), k=3, where={key: f"v{n}"})[0][0].name == midi[:-4]
    assert set(odd) <= set(library.fields())


def test_a_full_disk_is_one_error_and_loses_nothing(tmp_path, music, embedder):
    """Issue 16: a full disk during an add gave two tracebacks ('database or disk is full', then
    'cannot rollback - no transaction is active'). SQLite's own limit on the file's pages makes the
    same SQLITE_FULL as a full disk."""
    library = Library(tmp_path / "lib", create=True)
    library.add([music / "bwv277.krn"], embedder, progress=False)
    before = [item.to_dict() for item in library.items()]
    pages = library.db.execute("PRAGMA page_count").fetchone()[0]
    library.db.execute(f"PRAGMA max_page_count = {pages}")
    sidecar = {f"midi/{p.name}": {"notes": "x" * 20_000} for p in (music / "midi").iterdir()}  # rows that need new pages
    with pytest.raises(LibraryError, match="cannot write to the library .*full.*nothing of this change was written"):
        library.add([music], embedder, sidecar=sidecar, progress=False)
    assert not library.db.in_transaction
    reopened = Library(tmp_path / "lib")
    assert [item.to_dict() for item in reopened.items()] == before
    assert reopened.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_book_metadata_is_per_tune_and_a_changed_book_is_read_again(tmp_path):
    from clamp3.formats import Item
    from clamp3.metadata import read_metadata

    book = tmp_path / "book.abc"
    book.write_text("".join(f"X:{i}\nT:Tune {i}\nR:reel\nK:D\n|defg abag|\n\n" for i in range(1, 301)))
    items = [Item(book, f"book#{i}", "abc", "") for i in range(1, 301)]
    assert [read_metadata(item)["title"] for item in items] == [f"Tune {i}" for i in range(1, 301)]
    book.write_text("X:7\nT:Renamed\nR:jig\nK:G\n|GAB cde|\n")  # another size: not the cached split
    assert read_metadata(items[6]) == {"title": "Renamed", "tune_type": "jig", "key": "G"}
    hashed = tmp_path / "no#5.abc"  # a '#' in the file's own name
    hashed.write_text("X:1\nT:First\nK:D\n|defg|\n\nX:2\nT:Second\nK:D\n|defg|\n")
    assert read_metadata(Item(hashed, "no#5#2", "abc", ""))["title"] == "Second"


def test_search_equals_brute_force_with_filters(tmp_path, music, embedder):
    library = Library(tmp_path / "lib", create=True)
    library.add([music], embedder, progress=False)
    query = embedder.encode_texts(["a chorale"])
    ids, matrix = library.matrix()
    expected = ids[np.argsort(-(normalize(query) @ matrix.T)[0], kind="stable")][:5]
    hits = library.search(query, k=5)[0]
    assert [h.id for h in hits] == list(expected)
    assert hits[0].score >= hits[-1].score
    item = next(i for i in library.items() if i.id == hits[0].id)
    assert hits[0].to_dict() == {"rank": 1, "score": hits[0].score, **item.to_dict()}
    assert list(hits[0].to_dict()) == ["rank", "score", "id", "path", "name", "modality", "title", "metadata"]
    only_tunes = library.search(query, k=5, where={"tune_type": "romanze, ballade, lied"})[0]
    assert {h.name for h in only_tunes} == {"essen_book#1", "essen_book#2", "essen_book#3"}


def _fill(library, vectors, identity, offset=0, modality=lambda i: "audio"):
    rows = [(f"/v/{i}", f"v{i}", "h", modality(i), f"v{i}", "{}", v.astype(np.float32).tobytes(), 0.0)
            for i, v in enumerate(vectors, offset)]
    library._commit_chunk(rows, identity)


def test_ann_search_has_high_recall_and_is_rebuilt_when_stale(tmp_path):
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((50, 32))
    vectors = centers[rng.integers(0, 50, 3000)] + 0.3 * rng.standard_normal((3000, 32))
    identity = {"model": "random", "fingerprint": "f", "dim": "32"}
    library = Library(tmp_path / "lib", create=True, ann_threshold=1000)
    _fill(library, vectors, identity)
    queries = vectors[:100] + 0.1 * rng.standard_normal((100, 32))
    assert library.search(queries[:1], k=10)  # answered exactly while the index is built in the background
    library._ann_builder.join()
    exact = library.search(queries, k=10, exact=True)
    ann = library.search(queries, k=10)
    recall = np.mean([len({h.id for h in a} & {h.id for h in e}) / 10 for a, e in zip(ann, exact)])
    assert recall >= 0.95
    assert (tmp_path / "lib" / "ann.faiss").exists()
    far = np.full((10, 32), 9.0) + rng.standard_normal((10, 32))
    _fill(library, far, identity, offset=3000)  # a new version: the stale index is rebuilt
    assert len(library) == 3010
    assert library.search(far[3:4], k=1)[0][0].path == "/v/3003"
    library.ann_index()
    assert json.loads((tmp_path / "lib" / "ann.faiss.json").read_text())["version"] == library.version


def test_ann_holds_for_queries_across_a_modality_gap_and_under_a_filter(tmp_path):
    """Issue 17: text queries lie away from the music they search (a shared offset, the modality gap);
    the HNSW index found 0.77 of their true top 10 on realistic vectors. The inverted file re-ranked
    by the exact vectors must find them, give exact cosines, and keep a filter's rows only."""
    rng = np.random.default_rng(1)
    centers = rng.standard_normal((60, 48))
    vectors = centers[rng.integers(0, 60, 4000)] + 0.4 * rng.standard_normal((4000, 48))
    identity = {"model": "random", "fingerprint": "f", "dim": "48"}
    library = Library(tmp_path / "lib", create=True, ann_threshold=1000)
    _fill(library, vectors, identity, modality=lambda i: "symbolic" if i % 3 else "audio")
    gap = 3.0 * rng.standard_normal(48)  # the same offset for every query
    queries = vectors[rng.choice(4000, 100, replace=False)] + gap
    library.ann_index()  # built now (a search would answer exactly while it is built in the background)
    for modality in (None, "symbolic"):
        exact = library.search(queries, k=10, modality=modality, exact=True)
        ann = library.search(queries, k=10, modality=modality)
        assert all(len(a) == 10 for a in ann)
        recall = np.mean([len({h.id for h in a} & {h.id for h in e}) / 10 for a, e in zip(ann, exact)])
        assert recall >= 0.95, (modality, recall)
        for a, e in zip(ann, exact):
            best = {h.id: h.score for h in e}
            assert all(h.score == pytest.approx(best[h.id], abs=1e-6) for h in a if h.id in best)
    symbolic = {item.id for item in library.items() if item.modality == "symbolic"}
    assert {h.id for a in ann for h in a} <= symbolic


def test_an_index_of_an_earlier_kind_is_rebuilt(tmp_path):
    rng = np.random.default_rng(2)
    library = Library(tmp_path / "lib", create=True, ann_threshold=100)
    _fill(library, rng.standard_normal((400, 16)), {"model": "random", "fingerprint": "f", "dim": "16"})
    stamp = tmp_path / "lib" / "ann.faiss.json"
    (tmp_path / "lib" / "ann.faiss").write_bytes(b"an HNSW index of an earlier release")
    stamp.write_text(json.dumps({"version": library.version}))  # no kind: written before the inverted file
    assert len(library.search(rng.standard_normal((1, 16)), k=5)[0]) == 5
    library._ann_builder.join()
    assert json.loads(stamp.read_text()) == {"version": library.version, "kind": "ivf-sq8"}


def test_bad_queries_and_other_models(tmp_path, music, embedder, tiny_model):
    library = Library(tmp_path / "lib", create=True)
    with pytest.raises(LibraryError, match="the library is empty") as empty:
        library.search(np.zeros((1, 48)))
    assert empty.value.hint.setting == "index"
    library.add([music / "bwv277.krn"], embedder, progress=False)
    with pytest.raises(LibraryError, match=r"query vectors have 768 dimensions; .* holds 48-d vectors of model"):
        library.search(np.ones((1, 768)))
    with pytest.raises(InputError, match="NaN"):
        library.search(np.full((1, 48), np.nan))
    other = dict(model_identity(tiny_model), model="other-model", fingerprint="0000")
    with pytest.raises(LibraryError, match=r"holds vectors of model '.*'.*the model in use is 'other-model'"):
        library.check_model(other)
    with pytest.raises(LibraryError, match="no library here") as nothing:
        Library(tmp_path / "nothing")
    assert nothing.value.hint.setting == "index"


def test_open_checks_the_model_once_and_add_reuses_it(tmp_path, music, embedder, tiny_model_dir, monkeypatch):
    from clamp3.library import store
    from clamp3.models import load_model

    library = Library.open(tmp_path / "lib", model=embedder.model, create=True)
    computed = []
    monkeypatch.setattr(store, "model_identity", lambda model: computed.append(model) or model_identity(model))
    library.add([music / "bwv277.krn"], embedder, progress=False)
    library.add([music / "midi"], embedder, progress=False)
    assert computed == [] and len(library) == 7
    other = load_model(tiny_model_dir)
    other.name_or_path = "other-model"
    with torch.no_grad():
        other.text_proj.weight.add_(1.0)
    with pytest.raises(LibraryError, match=r"holds vectors of model '.*'.*the model in use is 'other-model'"):
        Library.open(tmp_path / "lib", model=other)
    with pytest.raises(LibraryError, match=r"the model in use is 'other-model'"):
        library.add([music / "bwv10.7.mxl"], Embedder(other), progress=False)
    assert len(computed) == 2 and len(library) == 7


def test_rebuild_embeds_the_same_files_and_metadata_into_a_new_library(tmp_path, music, embedder):
    library = Library(tmp_path / "lib", create=True)
    library.add([music / "midi", music / "bwv277.krn"], embedder, sidecar={"bwv277.krn": {"title": "Chorale", "era": "baroque"}},
                progress=False)
    rebuilt = library.rebuild(embedder, tmp_path / "rebuilt", progress=False)
    assert rebuilt.directory == tmp_path / "rebuilt" and rebuilt.meta()["fingerprint"] == library.meta()["fingerprint"]

    def contents(lib):
        return sorted((r.path, r.name, r.modality, r.title, json.dumps(r.metadata, sort_keys=True)) for r in lib.items())
    assert contents(rebuilt) == contents(library) and len(rebuilt) == 7
    assert library.items(where={"era": "baroque"})[0].title == rebuilt.items(where={"era": "baroque"})[0].title == "Chorale"
    old, new = (sorted(lib.items(), key=lambda r: r.path) for lib in (library, rebuilt))
    np.testing.assert_allclose(rebuilt.vectors_of([r.id for r in new]), library.vectors_of([r.id for r in old]), atol=1e-6)


def test_a_shipped_map_is_read_back_as_written(tmp_path, music, embedder):
    from clamp3.library import read_shipped_map, write_shipped_map
    from clamp3.library.maps import library_map

    library = Library(tmp_path / "lib", create=True)
    library.add([music / "midi"], embedder, progress=False)
    assert read_shipped_map(library.directory) is None
    ids = [r.id for r in library.items()]
    points = np.random.default_rng(0).uniform(-10, 10, (len(ids), 2)).astype(np.float32)
    write_shipped_map(library.directory, ids, points)
    assert (tmp_path / "lib" / "map.csv").read_text().splitlines()[0] == "id,x,y"
    assert read_shipped_map(library.directory) == {i: (round(float(x), 4), round(float(y), 4)) for i, (x, y) in zip(ids, points)}
    rows, shown = library_map(library, None, center=True)  # the library holds exactly the map's items
    assert [r.id for r in rows] == ids
    np.testing.assert_allclose(shown, points, atol=1e-4)


def test_two_writers_at_once_both_land(tmp_path, music, tiny_model):
    Library(tmp_path / "lib", create=True)
    errors = []

    def add(sources):
        try:
            Library(tmp_path / "lib").add(sources, Embedder(tiny_model), chunk_files=1, progress=False)
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=add, args=([music / "midi"],)), threading.Thread(target=add, args=([music / "bwv277.krn"],))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(Library(tmp_path / "lib")) == 7
    assert sqlite3.connect(tmp_path / "lib" / "library.sqlite3").execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sigkill_during_add_leaves_a_whole_library_that_resumes(tmp_path, tiny_model_dir):
    source = tmp_path / "music"
    shutil.copytree(CONVERT / "abc_official", source / "abc")
    shutil.copytree(CONVERT / "midi", source / "midi")
    command = [sys.executable, "-m", "clamp3.cli", "index", "add", str(source), "--index", str(tmp_path / "lib"),
               "--weights", str(tiny_model_dir), "--chunk-files", "4", "-q"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    db = tmp_path / "lib" / "library.sqlite3"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if int(dict(sqlite3.connect(db).execute("SELECT key, value FROM meta")).get("version", 0)) >= 3:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    library = Library(tmp_path / "lib")
    committed = len(library)
    assert 0 < committed < 118
    first = library.items(limit=1)[0]
    vector = np.frombuffer(sqlite3.connect(db).execute("SELECT vector FROM items WHERE id = ?", (first.id,)).fetchone()[0], np.float32)
    assert library.search(vector[None], k=1)[0][0].id == first.id
    assert subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode == 0
    assert len(Library(tmp_path / "lib")) == 118
    info = json.loads(subprocess.run([sys.executable, "-m", "clamp3.cli", "index", "info", "--index", str(tmp_path / "lib")],
                                     capture_output=True, text=True).stdout)
    assert info["items"] == 118 and info["files"] == 118


def _open_new_libraries(folder: str, barrier, count: int, results) -> None:
    failures = 0
    for i in range(count):
        barrier.wait()  # every process opens the same new library at the same moment
        try:
            Library(Path(folder) / f"lib{i}", create=True)
        except LibraryError:
            failures += 1
    results.put(failures)


def test_processes_creating_one_library_at_once_all_open_it(tmp_path):
    """Writers of one job (``torchrun ... index add --shard auto``) create the library together;
    SQLite reports a lock while one switches the journal to WAL, without waiting."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    processes = [context.Process(target=_open_new_libraries, args=(str(tmp_path), barrier, 20, results)) for _ in range(4)]
    for process in processes:
        process.start()
    failures = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert failures == [0, 0, 0, 0]
    assert all(Library(tmp_path / f"lib{i}").info()["items"] == 0 for i in range(20))


def _summary_counts(stderr: str) -> tuple[int, int]:
    """(items added, files unchanged) from the summary line of ``clamp3 index add``."""
    found = re.search(r"added (\d+) items, re-embedded \d+ changed files, (\d+) files unchanged, failed 0", stderr)
    assert found, stderr[-2000:]
    return int(found[1]), int(found[2])


def test_two_adds_of_one_folder_at_once_add_and_count_each_file_once(tmp_path, tiny_model_dir):
    """Issue 16: two `index add` runs of the same folder at once both embedded every file and
    reported double counts. Over both runs, each file is added and counted once now."""
    source = tmp_path / "music"
    shutil.copytree(CONVERT / "abc_official", source / "abc")
    shutil.copytree(CONVERT / "midi", source / "midi")
    files = sum(1 for p in source.rglob("*") if p.is_file())  # one item each
    command = [sys.executable, "-m", "clamp3.cli", "index", "add", str(source), "--index", str(tmp_path / "lib"),
               "--weights", str(tiny_model_dir), "--chunk-files", "4", "-q"]
    runs = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    counts = [_summary_counts(output) for output in outputs]
    assert sum(added for added, _ in counts) == files, counts
    assert all(added + unchanged == files for added, unchanged in counts), counts  # each run accounts for every file
    rows = sqlite3.connect(tmp_path / "lib" / "library.sqlite3").execute("SELECT path, name FROM items").fetchall()
    assert len(rows) == len(set(rows)) == files


def test_adds_at_once_embed_each_file_once(tmp_path, music, tiny_model):
    """An add claims a chunk's files before embedding them; another add leaves those to it and,
    once they are committed, counts them as unchanged: no file is embedded twice."""
    Library(tmp_path / "lib", create=True)
    embedded, reports, errors = [], [], []

    class Counting(Embedder):
        def encode_files(self, paths, **kwargs):
            embedded.extend(paths)
            return super().encode_files(paths, **kwargs)

    def add():
        try:
            reports.append(Library(tmp_path / "lib").add([music], Counting(tiny_model), chunk_files=2, progress=False))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(embedded) == sorted(p for p in music.rglob("*") if p.is_file())  # 9 files, each once
    assert sum(r.added for r in reports) == len(Library(tmp_path / "lib")) == 11  # 3 tunes in the book
    assert all(len({key for key, _ in r.written}) + r.unchanged == 9 for r in reports)  # each add accounts for every file


# Run by a child that the permission bits hold (see support.without_write_rights): opens the library
# in argv[1] by itself and when asked to read only; prints what it read and each change's refusal.
READ_ONLY_CHILD = r"""
import json, sys
from pathlib import Path
import numpy as np
from clamp3.library import Library, LibraryError
folder, query = Path(sys.argv[1]), np.asarray(json.loads(sys.argv[2]), dtype=np.float32)
try:
    open(folder / "library.sqlite3", "r+b")
    sys.exit("the test is not read-only: the database opens for writing")
except PermissionError:
    pass
seen = {}
for how, library in (("by itself", Library(folder)), ("asked", Library.open(folder, read_only=True))):
    refusals = []
    for change in (lambda: library.add([folder], embedder=None), lambda: library.remove([1]), library.prune):
        try:
            change()
            refusals.append("changed")
        except LibraryError as exc:
            refusals.append(str(exc))
    seen[how] = {"read_only": library.read_only, "exact": [h.id for h in library.search(query, k=5, exact=True)[0]],
                 "ann": [h.id for h in library.search(query, k=5, exact=False)[0]], "items": len(library.items()),
                 "fields": library.fields(), "info": library.info()["items"], "matrix": len(library.matrix()[0]),
                 "refusals": refusals}
print(json.dumps(seen))
"""


def test_a_wal_library_in_a_read_only_folder_opens_read_only_and_refuses_changes(tmp_path, music, embedder):
    """Issue 16: a library on read-only storage could not be opened at all ('unable to open database
    file'): opening connected read-write, switched to WAL and ran the schema. A WAL database whose
    folder cannot hold its -shm opens now as immutable, by itself or when asked to read only:
    search (exact and ANN), items, fields, info and matrix work, each change is a one-line refusal,
    and nothing in the folder changes."""
    from support import read_only_folder, without_write_rights

    library = Library(tmp_path / "lib", create=True)
    library.add([music], embedder, progress=False)
    query = library.vectors_of([3])
    expected = {"read_only": True, "exact": [h.id for h in library.search(query, k=5)[0]], "items": 11,
                "fields": library.fields(), "info": 11, "matrix": 11}
    library.close()
    folder = tmp_path / "lib"
    assert [p.name for p in folder.iterdir() if p.name.startswith("library")] == ["library.sqlite3"]  # no -wal, no -shm once closed
    assert (folder / "library.sqlite3").read_bytes()[18:20] == b"\x02\x02"  # a WAL database
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with read_only_folder(folder):
        child = subprocess.run([sys.executable, "-c", READ_ONLY_CHILD, str(folder), json.dumps(query.tolist())],
                               capture_output=True, text=True, preexec_fn=without_write_rights(), timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    seen = json.loads(child.stdout)
    for how, read in seen.items():
        refusals, ann = read.pop("refusals"), read.pop("ann")
        assert read == expected, how
        assert len(set(ann) & set(expected["exact"])) >= 4, how
        reason = "its folder or database is not writable" if how == "by itself" else "opened read-only"
        assert refusals == [f"{folder}: the library is open read-only ({reason}); it cannot be changed"] * 3, how
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no -shm, no ANN file, the database as it was


def test_a_library_opened_read_only_changes_nothing_and_sees_a_writer(tmp_path, music, embedder):
    """``read_only`` on writable storage: no schema or journal change, changes refused before any
    work, and what a writer commits meanwhile is read (the database is not taken as immutable)."""
    writer = Library(tmp_path / "lib", create=True)
    writer.add([music / "midi"], embedder, progress=False)
    reader = Library.open(tmp_path / "lib", model=embedder.model, read_only=True)
    assert reader.read_only and len(reader) == 6
    refused = rf"^{tmp_path / 'lib'}: the library is open read-only \(opened read-only\); it cannot be changed$"
    for change in (lambda: reader.add([music], embedder, progress=False), lambda: reader.remove([1]), reader.prune):
        with pytest.raises(LibraryError, match=refused) as refusal:
            change()
        assert refusal.value.hint is None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.db.execute("DELETE FROM items")
    writer.add([music / "bwv277.krn"], embedder, progress=False)
    assert len(reader) == 7 and reader.search(writer.vectors_of([7]), k=1)[0][0].id == 7
    with pytest.raises(LibraryError, match="no library here"):
        Library(tmp_path / "nothing", create=True, read_only=True)
    assert not (tmp_path / "nothing").exists()


# --- search without copies, the vector file, the table of fields (issue 17) -------------------------
IDENTITY = {"model": "random", "fingerprint": "f", "dim": "32"}
REGIONS = ["China", "Germany", "Lorraine"]
ODD_KEYS = ['a"b', "x.y[0]", "$", "it's"]


def _random_items(count: int, seed: int = 0, dim: int = 32, offset: int = 0) -> list[tuple]:
    """Rows for ``_commit_chunk``: vectors of any length, a rare and a common region, odd field names."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(offset, offset + count):
        metadata = {"region": REGIONS[0] if i % 23 == 0 else REGIONS[1 + i % 2], "n": str(i % 7), ODD_KEYS[i % 4]: f"v{i % 3}"}
        vector = rng.standard_normal(dim).astype(np.float32) * rng.uniform(0.5, 2.0)
        rows.append((f"/v/{i}", f"v{i}", "h", "audio" if i % 3 else "symbolic", f"t{i % 5}", json.dumps(metadata), vector.tobytes(), 0.0))
    return rows


def _library_of(folder: Path, rows: list[tuple], identity: dict = IDENTITY) -> Library:
    library = Library(folder, create=True)
    for start in range(0, len(rows), 5000):
        library._commit_chunk(rows[start : start + 5000], identity)
    return library


def _brute_force(rows: list[tuple], ids: list[int], query: np.ndarray, k: int, keep) -> tuple[list[int], np.ndarray]:
    """The reference: every kept row scored one by one in float64, sorted by score then id."""
    scored = []
    for item_id, row in zip(ids, rows):
        if keep(row[3], json.loads(row[5]), row[4]):
            vector = np.frombuffer(row[6], np.float32).astype(np.float64)
            scored.append((-float(vector @ query / np.linalg.norm(vector) / np.linalg.norm(query)), item_id))
    scored.sort()
    return [i for _, i in scored[:k]], np.array([-s for s, _ in scored[:k]])


def test_exact_search_equals_brute_force_with_and_without_filters(tmp_path):
    """No filter, a broad filter (scored whole, the rest masked), a narrow one (its rows gathered),
    filters together, several k, several queries at once."""
    rows = _random_items(3000)
    library = _library_of(tmp_path / "lib", rows)
    ids = [i for (i,) in library.db.execute("SELECT id FROM items ORDER BY id")]
    queries = np.random.default_rng(1).standard_normal((4, 32)).astype(np.float32)
    filters = [
        ({}, None, lambda modality, fields, title: True),
        ({}, "audio", lambda modality, fields, title: modality == "audio"),  # two thirds: masked
        ({"region": "China"}, None, lambda modality, fields, title: fields["region"] == "China"),  # 1/23: gathered
        ({"region": "Germany", "n": "3"}, "symbolic", lambda m, f, t: f["region"] == "Germany" and f["n"] == "3" and m == "symbolic"),
        ({'a"b': "v1", "title": "t2"}, None, lambda modality, fields, title: fields.get('a"b') == "v1" and title == "t2"),
        ({"region": "Atlantis"}, None, lambda modality, fields, title: False),
    ]
    for where, modality, keep in filters:
        for k in (1, 10, 57, 5000):
            found = library.search(queries, k=k, modality=modality, where=where, exact=True)
            for query, hits in zip(queries, found):
                expected_ids, expected_scores = _brute_force(rows, ids, query, k, keep)
                assert [h.id for h in hits] == expected_ids, (where, modality, k)
                np.testing.assert_allclose([h.score for h in hits], expected_scores, atol=1e-5)


def test_an_exact_search_allocates_no_copy_of_the_matrix(tmp_path):
    """Issue 17: every exact search copied the whole matrix (``matrix[np.arange(N)]``): 9x the time
    of the search at 100,000 items, 1.5 GB per query at a million. A search now allocates its
    scores and the allowed rows, a small part of the matrix."""
    import tracemalloc

    library = _library_of(tmp_path / "lib", _random_items(20_000, dim=64))
    ids, matrix = library.matrix()
    query = np.random.default_rng(2).standard_normal((1, 64)).astype(np.float32)
    for modality, where in ((None, None), ("audio", None), (None, {"region": "Germany"}), (None, {"region": "China"})):
        library.search(query, k=10, modality=modality, where=where, exact=True)  # SQLite's caches warm
        tracemalloc.start()
        try:
            library.search(query, k=10, modality=modality, where=where, exact=True)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < matrix.nbytes / 8, (modality, where, peak, matrix.nbytes)


def _matrix_from_sqlite(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The reference: ids and unit vectors read row by row from the database."""
    rows = sqlite3.connect(folder / "library.sqlite3").execute("SELECT id, vector FROM items ORDER BY id").fetchall()
    return np.array([i for i, _ in rows]), normalize(np.stack([np.frombuffer(v, np.float32) for _, v in rows]))


def _assert_current(folder: Path, library: Library | None = None) -> None:
    ids, matrix = (library or Library(folder)).matrix()
    expected_ids, expected = _matrix_from_sqlite(folder)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(matrix, expected)


def test_the_vector_file_is_used_after_reopening_extended_and_rewritten_when_stale(tmp_path, monkeypatch):
    """Issue 17: the vectors were read row by row from SQLite at every version (213 s for a
    million). They are kept in vectors.f32 now: mapped after reopening, extended by the items
    added since, written anew after a deletion, and never used when they do not hold what the
    database holds (another version, truncated, half extended, another generation, a damaged row)."""
    from clamp3.library import vectors

    folder = tmp_path / "lib"
    library = _library_of(folder, _random_items(500))
    _assert_current(folder, library)
    stamp = json.loads((folder / "vectors.json").read_text())
    assert stamp["count"] == 500 and stamp["version"] == library.version
    calls = []

    def spy(name, original):
        return lambda *args: calls.append(name) or original(*args)

    for name in ("_read_all", "_write_all", "_append"):
        monkeypatch.setattr(vectors, name, spy(name, getattr(vectors, name)))

    reopened = Library(folder)
    ids, matrix = reopened.matrix()
    assert calls == [] and not matrix.flags.writeable  # mapped as written
    reopened._commit_chunk(_random_items(20, seed=1, offset=500), IDENTITY)  # extended in place: same generation
    _assert_current(folder, reopened)
    extended = json.loads((folder / "vectors.json").read_text())
    assert (extended["count"], extended["generation"]) == (520, stamp["generation"]) and calls == ["_append"]
    assert reopened.remove([7]) == 1  # a deletion: written anew
    _assert_current(folder, reopened)
    rewritten = json.loads((folder / "vectors.json").read_text())
    assert rewritten["count"] == 519 and rewritten["generation"] != stamp["generation"]

    old = {name: (folder / name).read_bytes() for name in ("vectors.f32", "vectors.ids", "vectors.json")}
    reopened._commit_chunk(_random_items(5, seed=2, offset=600), IDENTITY)
    Library(folder).matrix()
    damages = {
        "an older version's files": lambda: [(folder / name).write_bytes(data) for name, data in old.items()],
        "an older version's files stamped as the current version": lambda: [
            (folder / name).write_bytes(data) for name, data in old.items()
        ] and _restamp(folder, version=reopened.version),
        "a truncated vector file": lambda: _truncate(folder / "vectors.f32"),
        "a truncated id file": lambda: _truncate(folder / "vectors.ids"),
        "a stamp of another generation": lambda: _restamp(folder, generation="00" * 16),
        "a stamp of another library": lambda: _restamp(folder, library="0" * 32),
        "a stamp that is not JSON": lambda: (folder / "vectors.json").write_text("{"),
        "a damaged last row": lambda: _damage_last_row(folder),
    }
    for name, damage in damages.items():
        damage()
        _assert_current(folder)
        calls.clear()
        Library(folder).matrix()
        assert calls == [], name  # repaired: mapped as it is now
    # a library opened read-only uses what it can and writes nothing
    _truncate(folder / "vectors.f32")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.name.startswith("vectors")}
    _assert_current(folder, Library.open(folder, read_only=True))
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name.startswith("vectors")} == before


def _restamp(folder: Path, **changes) -> None:
    stamp = json.loads((folder / "vectors.json").read_text())
    (folder / "vectors.json").write_text(json.dumps({**stamp, **changes}))


def _truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _damage_last_row(folder: Path) -> None:
    with open(folder / "vectors.f32", "r+b") as handle:
        handle.seek(-4, os.SEEK_END)
        handle.write(np.float32(0.5).tobytes())


# Run by a child: brings the vector file of argv[1] up to date and is killed at its n-th write or sync.
VECTOR_KILL_CHILD = r"""
import os, signal, sys
from clamp3.library import Library, vectors
calls, nth = [0], int(sys.argv[2])
def dying(original):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return call
vectors._synced, vectors._write_stamp = dying(vectors._synced), dying(vectors._write_stamp)
Library(sys.argv[1]).matrix()
sys.exit("not killed")
"""


def test_a_kill_while_the_vector_file_is_written_never_gives_wrong_vectors(tmp_path):
    """Killed while the files are written anew or extended (after the vectors, after the ids,
    before the stamp), the library's next load gives the database's vectors; the temporary files
    a kill left are removed by a later rewrite once they are old."""
    folder = tmp_path / "lib"
    library = _library_of(folder, _random_items(300))
    changes = {
        "written anew": lambda n: library.remove([int(library.matrix()[0][n])]),
        "extended": lambda n: library._commit_chunk(_random_items(9, seed=n, offset=1000 + 10 * n), IDENTITY),
    }
    for how, change in changes.items():
        for nth in (1, 2, 3):
            change(nth)
            child = subprocess.run([sys.executable, "-c", VECTOR_KILL_CHILD, str(folder), str(nth)], capture_output=True, text=True,
                                   timeout=120)
            assert child.returncode == -signal.SIGKILL, (how, nth, child.stderr[-2000:])
            _assert_current(folder)
    left = list(folder.glob(".vectors.*.tmp"))
    assert left  # the kills before the renames
    for path in left:
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    library.remove([int(library.matrix()[0][0])])
    _assert_current(folder)
    assert not list(folder.glob(".vectors.*.tmp"))


def _without_fields_table(folder: Path) -> None:
    """The library as a version before the table of fields left it."""
    db = sqlite3.connect(folder / "library.sqlite3")
    for name in ("items_added", "items_deleted", "items_changed"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE item_fields")
    db.execute("DROP INDEX items_title")
    db.commit()
    db.close()


def test_filters_read_the_table_of_fields_and_agree_with_the_json(tmp_path):
    """Issue 17: a metadata filter read json_each over the rows that carry the vectors (2.2 s at
    100,000 items). Fields are in item_fields now, searched through its (key, value) index, filled
    when an older library is opened writable and emptied with each item in its transaction; an
    older library opened read-only reads the JSON as before, with the same answers."""
    rows = _random_items(400)
    folder = tmp_path / "lib"
    _library_of(folder, rows).close()
    _without_fields_table(folder)
    old = Library.open(folder, read_only=True)
    new = Library(folder)  # writable: the table is made and filled
    assert new.db.execute("SELECT COUNT(*) FROM item_fields").fetchone()[0] == 3 * 400
    sql, params = new._filter_sql("SELECT id FROM items", None, {"region": "China"})
    plan = " ".join(str(step) for step in new.db.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "item_fields_value" in plan and "json_each" not in sql
    query = np.random.default_rng(4).standard_normal((1, 32)).astype(np.float32)
    filters = [{"region": "China"}, {"region": "Germany", "n": "2"}, {"title": "t3"}, {"n": "9"},
               *({key: value} for key in ODD_KEYS for value in ("v0", "v2"))]
    for where in filters:
        assert [i.id for i in new.items(where=where)] == [i.id for i in old.items(where=where)] != [] or where == {"n": "9"}, where
        assert [h.id for h in new.search(query, k=7, where=where)[0]] == [h.id for h in old.search(query, k=7, where=where)[0]], where
    assert new.fields() == old.fields() and set(ODD_KEYS) <= set(new.fields())
    for key in ["region", "n", *ODD_KEYS, "nothing"]:
        assert new.field_values(key) == old.field_values(key) and new.field_values(key, limit=1) == old.field_values(key, limit=1)

    first = new.items(where={"region": "China"})[0].id
    new.db.execute("CREATE TRIGGER fail BEFORE DELETE ON items WHEN old.id = 50 BEGIN SELECT RAISE(ABORT, 'disk gone'); END")
    with pytest.raises(sqlite3.IntegrityError, match="disk gone"):
        new.remove([first, 50])
    assert new.db.execute("SELECT COUNT(*) FROM item_fields WHERE item_id = ?", (first,)).fetchone()[0] == 3  # rolled back together
    new.db.execute("DROP TRIGGER fail")
    assert first in [h.id for h in new.search(query, k=400, where={"region": "China"})[0]]
    assert new.remove([first]) == 1
    assert new.db.execute("SELECT COUNT(*) FROM item_fields WHERE item_id = ?", (first,)).fetchone()[0] == 0
    assert first not in [i.id for i in new.items(where={"region": "China"})]
    assert first not in [h.id for h in new.search(query, k=400, where={"region": "China"})[0]]  # not from the last version's filter


def test_mixed_search_gives_both_modalities_in_their_own_order(tmp_path):
    """Issue 18: with a modality gap (the queries share an offset with the scores, not with the
    audio) a raw ranking of all modalities returns scores only; the mixed search returns both,
    each in its own order."""
    rng = np.random.default_rng(2)
    symbolic = rng.standard_normal((300, 32)) + 3.0 * rng.standard_normal(32)  # a shared offset: the gap
    audio = rng.standard_normal((300, 32))
    identity = {"model": "random", "fingerprint": "f", "dim": "32"}
    library = Library(tmp_path / "lib", create=True)
    _fill(library, np.concatenate([symbolic, audio]), identity, modality=lambda i: "symbolic" if i < 300 else "audio")
    queries = symbolic[:5] + 0.5 * rng.standard_normal((5, 32))
    raw, mixed = library.search(queries, k=20), library.search_mixed(queries, k=20)
    assert all({h.modality for h in hits} == {"symbolic"} for hits in raw)
    for q, hits in enumerate(mixed):
        assert {h.modality for h in hits} == {"symbolic", "audio"} and [h.rank for h in hits] == list(range(1, 21))
        assert hits[0].id == raw[q][0].id  # the query's own neighbour still first
        for modality in ("symbolic", "audio"):
            own = [h.id for h in hits if h.modality == modality]
            assert own == [h.id for h in library.search(queries[q], k=20, modality=modality)[0]][: len(own)]
        assert all(h.calibrated is not None for h in hits) and "calibrated" in hits[0].to_dict()


def test_keyword_filter_looks_in_titles_and_field_values_only(tmp_path, music, embedder):
    library = Library(tmp_path / "lib", create=True)
    first, second = sorted((music / "midi").glob("*.mid"))[:2]
    library.add([music], embedder, sidecar={str(first): {"title": "Drops of 100% Brandy"}, str(second): {"region": "Ireland"}},
                progress=False)
    query = library.matrix()[1][:1]
    assert [h.path for h in library.search(query, 10, keyword="brandy")[0]] == [str(first)]
    assert [h.path for h in library.search(query, 10, keyword="IRELAND")[0]] == [str(second)]
    assert len(library.search(query, 10, keyword="100%")[0]) == 1  # LIKE's wildcards are literal
    assert library.search(query, 10, keyword="_")[0] == [] and library.search(query, 10, keyword="region")[0] == []
    with pytest.raises(InputError, match="at most 100"):
        library.search(query, 10, keyword="x" * 101)


def test_a_named_set_is_a_field_of_its_members_that_every_filter_reads(tmp_path):
    """Issue 20: a selection saved as a named set in the library is the field ``set:NAME`` = yes of
    its members (an item in several sets has several), read by ``where`` as any field; each tag is
    one transaction and one version, and a tag that changes nothing is no version."""
    from clamp3.library import set_field

    library = _library_of(tmp_path / "lib", _random_items(60))
    ids = library.matrix()[0]
    query = np.random.default_rng(5).standard_normal((1, 32)).astype(np.float32)
    version = library.version
    index = library.ann_index()  # the vectors' own: a change of metadata only keeps it, and the map
    edits = library.meta().get("edits")
    assert library.tag(ids[:10], "  my  reels ") == 10 and library.version == version + 1
    assert library.tag(ids[5:20], "Lieder aus Tirol") == 15 and library.version == version + 2
    assert library.tag(ids[:10], "my reels") == 0 and library.version == version + 2  # all in it already: no new version
    assert library.sets() == {"Lieder aus Tirol": 15, "my reels": 10} and library.info()["sets"] == library.sets()
    assert library.vectors_version == version and library.ann_index() is index
    assert library.meta().get("edits") == edits  # (the vector file is still extended, not written anew)
    assert library.search(query, k=5, exact=False)[0] and library.ann_index() is index
    assert library.set_members("my reels").tolist() == ids[:10].tolist()
    both = library.items(where={"set:my reels": "yes", "set:Lieder aus Tirol": "yes"})
    assert [r.id for r in both] == ids[5:10].tolist() and both[0].metadata["set:my reels"] == "yes"
    assert {h.id for h in library.search(query, k=60, where={set_field("my reels"): "yes"})[0]} == set(ids[:10].tolist())
    assert {"set:my reels", "set:Lieder aus Tirol"} <= set(library.fields())
    assert library.items_by_id([int(ids[0])])[0].metadata["region"]  # the other fields kept
    assert library.untag("my reels", ids[:3]) == 3 and library.set_members("my reels").tolist() == ids[3:10].tolist()
    assert library.untag("Lieder aus Tirol") == 15 and library.sets() == {"my reels": 7}
    assert library.untag("nothing here") == 0
    version = library.version
    assert library.tag(ids[8:12], "my reels", replace=True) == 2 and library.version == version + 1  # one version
    assert library.remove([int(ids[59])]) == 1 and library.vectors_version == library.version  # the vectors changed
    assert library.update_metadata([(int(ids[0]), "t", {})]) == 1 and library.vectors_version == library.version - 1
    assert library.set_members("my reels").tolist() == ids[8:12].tolist()

    version = library.version
    for bad in ("", "   ", "a=b", "x" * 41, "-lead", 'say "hi"', "a/b", "tab\x00"):
        with pytest.raises(Clamp3Error, match="cannot name a set"):
            library.tag(ids[:2], bad)
    with pytest.raises(Clamp3Error, match="no items given for the set 'empty'"):
        library.tag([], "empty")
    with pytest.raises(LibraryError, match="no item with the id 999"):
        library.tag([int(ids[0]), 999], "stale")  # refused whole: the first id is not tagged either
    assert library.version == version and "stale" not in library.sets()
    assert set_field("Chansons d'Alsace") == "set:Chansons d'Alsace" and set_field("民謡 2") == "set:民謡 2"
    library.close()
    with pytest.raises(LibraryError, match="open read-only"):
        Library.open(tmp_path / "lib", read_only=True).tag(ids[:2], "mine")


def test_a_library_whose_trigger_counted_changes_of_metadata_as_edits_gets_the_new_one(tmp_path):
    """A library made before issue 20 counted a change of metadata as an edit of its vectors (the
    vector file was written anew after each): opened writable, its trigger is made anew."""
    library = _library_of(tmp_path / "lib", _random_items(20))
    library.db.executescript(
        "DROP TRIGGER items_changed; CREATE TRIGGER items_changed AFTER UPDATE OF id, metadata, vector ON items BEGIN "
        "DELETE FROM item_fields WHERE item_id = old.id; "
        "INSERT OR IGNORE INTO item_fields SELECT new.id, j.key, j.value FROM json_each(new.metadata) AS j; "
        "INSERT INTO meta VALUES ('edits', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1; END;")
    library.tag([1], "first")
    assert library.meta()["edits"] == "1"
    library.close()
    assert Library(tmp_path / "lib", read_only=True)._fields_table == "item_fields"  # read as it is
    library = Library(tmp_path / "lib")
    library.tag([2], "second")
    library.db.execute("UPDATE items SET vector = ? WHERE id = 3", (np.ones(32, np.float32).tobytes(),))
    assert library.meta()["edits"] == "2" and library.sets() == {"first": 1, "second": 1}  # the vector counted, the tag not
