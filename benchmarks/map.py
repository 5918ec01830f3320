"""The map of the demo library (12,814 items) after a library change, as the app draws it: main's
synchronous path (``--base DIR``, a checkout of the code before) beside the background maps.

Each side runs in a fresh process on its own writable copy of the demo library, centred and not:
the first draw with no cache (the app's start), one item removed (a change), the first draw after
it, the time until the up-to-date map is drawn, the next draw, and a draw as after a restart (the
map read from its cache file); then the map files left in the library's folder. A draw here is
what the Map tab asks for the shared library's points, before the figure is built. Before, every draw computes or reads the map itself; after, a draw while
the map is computed gets the last ready one at once, and the up-to-date map comes from a child
process at niceness 10 (so other work on the machine slows it more than the draw: the load
average is printed around each run).

    python benchmarks/map.py [--base DIR] [--settings]

``--base DIR``: ``mkdir DIR && git archive COMMIT | tar -x -C DIR`` (main's code before this change).
``--settings``: also time UMAP's settings on the demo library in one warm process (the layout, not
the imports and compilation), with the share of each item's 10 nearest neighbours that its 10
nearest on the map keep.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "assets" / "demo-library"

# Main's path: the Map tab called clamp3.analysis.library_map in the request.
BEFORE = """
import json, sys, time
from clamp3.analysis import library_map
from clamp3.library import Library
folder, center = sys.argv[1], sys.argv[2] == "1"
library = Library(folder)
times = {}
started = time.perf_counter(); library_map(library, None, center); times["first"] = time.perf_counter() - started
library.remove([library.items()[0].id])
started = time.perf_counter(); library_map(library, None, center); times["change"] = times["ready"] = time.perf_counter() - started
started = time.perf_counter(); library_map(library, None, center); times["cached"] = time.perf_counter() - started
import clamp3.analysis
clamp3.analysis._MAPS.clear()  # as after a restart: the map read from its file
started = time.perf_counter(); library_map(library, None, center); times["restart"] = time.perf_counter() - started
print(json.dumps(times))
"""

# The app's path now: the Map tab asks clamp3.library.maps.BackgroundMaps.view.
AFTER = """
import json, sys, time
from clamp3.library import Library
from clamp3.library.maps import BackgroundMaps
folder, center = sys.argv[1], sys.argv[2] == "1"
library = Library(folder)
maps = BackgroundMaps(library, flags=(center,))
times = {}
started = time.perf_counter(); maps.view(center, wait=3600); times["first"] = time.perf_counter() - started
library.remove([library.items()[0].id])
started = time.perf_counter(); shown = maps.view(center); times["change"] = time.perf_counter() - started
times["status"] = shown.status
while maps.view(center).status:
    time.sleep(0.1)
times["ready"] = time.perf_counter() - started
started = time.perf_counter(); maps.view(center); times["cached"] = time.perf_counter() - started
maps.close()
maps = BackgroundMaps(library, flags=(center,))  # as after a restart: the map read from its file
started = time.perf_counter(); maps.view(center); times["restart"] = time.perf_counter() - started
print(json.dumps(times))
"""


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_of_children() -> float:
    """User + system seconds of the children that have ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def demo_copy(scratch: Path, name: str) -> Path:
    """A writable copy of the demo library (its database and shipped map), opened once so that its
    first open's one-time work (the fields table, the vector file) is not timed."""
    folder = scratch / name
    folder.mkdir()
    for file in ("library.sqlite3", "map.csv"):
        shutil.copy2(DEMO / file, folder / file)
    subprocess.run([sys.executable, "-c", "import sys; from clamp3.library import Library; Library(sys.argv[1]).matrix()", str(folder)],
                   cwd=ROOT, check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return folder


def side(code: str, checkout: Path, folder: Path, center: bool) -> dict:
    """One side's times, in a fresh interpreter importing ``checkout``'s clamp3."""
    load = load_average()
    done = subprocess.run([sys.executable, "-c", code, str(folder), "1" if center else "0"], cwd=checkout,
                          env=dict(os.environ, PYTHONPATH=str(checkout)), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: {done.stderr[-3000:]}")
    times = json.loads(done.stdout.splitlines()[-1])
    times["load"] = f"{load} -> {load_average()}"
    times["files"] = len(list(folder.glob("map-*")))
    return times


def settings() -> None:
    """UMAP's settings on the demo library, in this process once numba has compiled (warm)."""
    import warnings

    import numpy as np
    import umap
    from sklearn.neighbors import NearestNeighbors

    from clamp3.library import Library
    from clamp3.library.maps import nearest_neighbours, unit_rows
    from clamp3.retrieval import exact_top_k

    library = Library(DEMO, read_only=True)
    rows = library.items()
    x = unit_rows(library.vectors_of([r.id for r in rows]), [r.modality for r in rows], center=True)
    truth = exact_top_k(x, x, 11)[1]  # (N, 11): each item and its 10 nearest

    def kept(points: np.ndarray) -> float:
        _, found = NearestNeighbors(n_neighbors=11).fit(points).kneighbors(points)
        return float(np.mean([len(set(a[1:]) & set(b[1:])) / 10 for a, b in zip(truth.tolist(), found.tolist())]))

    def fit(knn: tuple | None, **options) -> tuple[float, np.ndarray]:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            options = {"n_components": 2, "metric": "cosine", "random_state": 42, "n_jobs": 1, "n_neighbors": 15, "init": "random", **options}
            reducer = umap.UMAP(precomputed_knn=(*knn, None) if knn else (None, None, None), **options)
            points = reducer.fit_transform(x)
        return time.perf_counter() - started, points

    started = time.perf_counter()
    projected = nearest_neighbours(x, 15)
    projected_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scores, indices = exact_top_k(x, x, 15)
    exact_seconds = time.perf_counter() - started
    exact = (indices, np.maximum(0, 1 - scores).astype(np.float32))
    fit(projected)  # numba compiles here
    fit(None)
    shared = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(projected[0].tolist(), indices.tolist())])
    print(f"\nneighbours (15): 50-d candidates re-ranked {projected_seconds:.1f} s ({shared:.4f} of the exact ones), "
          f"exact {exact_seconds:.1f} s; load {load_average()}\n")
    print("| neighbours | settings | layout (warm) | 10 nearest kept on the map |")
    print("|---|---|---:|---:|")
    runs = [
        ("50-d candidates, re-ranked", projected, {}),
        ("50-d candidates, re-ranked", projected, {"n_epochs": 100}),
        ("50-d candidates, re-ranked", projected, {"init": "pca"}),
        ("50-d candidates, re-ranked", projected, {"init": "spectral"}),
        ("50-d candidates, re-ranked", (projected[0][:, :10], projected[1][:, :10]), {"n_neighbors": 10}),
        ("exact", exact, {}),
        ("UMAP's own (pynndescent, low_memory)", None, {}),
        ("UMAP's own (pynndescent)", None, {"low_memory": False}),
    ]
    for source, knn, options in runs:
        seconds, points = fit(knn, **options)
        shown = ", ".join(f"{k} {v}" for k, v in options.items()) or "15 neighbours, random init, UMAP's epochs (200)"
        print(f"| {source} | {shown} | {seconds:.1f} s | {kept(points):.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, default=None, help="a checkout of the code before (main's synchronous map)")
    parser.add_argument("--settings", action="store_true", help="also time UMAP's settings in one warm process")
    args = parser.parse_args(argv)
    sides = [("after: background maps", AFTER, ROOT)]
    if args.base is not None:
        sides.insert(0, ("before: synchronous (main)", BEFORE, args.base.resolve()))
    cache = tempfile.TemporaryDirectory(prefix="clamp3-map-bench-")
    os.environ["CLAMP3_CACHE"] = str(Path(cache.name) / "cache")  # where numba's compilation of UMAP is kept
    results = []
    try:
        # The map's process alone, first with numba's cache empty (an install's first map), then cached.
        alone = []
        for _ in range(2):
            folder, load = demo_copy(Path(cache.name), f"alone-{len(alone)}"), load_average()
            started, used = time.perf_counter(), cpu_of_children()
            subprocess.run([sys.executable, "-m", "clamp3.library.maps", str(folder), str(folder / "out.npz")], cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
            alone.append((time.perf_counter() - started, cpu_of_children() - used, f"{load} -> {load_average()}"))
        for center in (True, False):
            for label, code, checkout in sides:
                folder = demo_copy(Path(cache.name), f"{label.split(':')[0]}-{int(center)}")
                results.append((label, center, side(code, checkout, folder, center)))
    finally:
        cache.cleanup()
    print(f"\n{os.cpu_count()} CPUs; demo library, 12,814 items; one item removed as the change\n")
    print(f"the map's process alone (`python -m clamp3.library.maps`, not centred, niceness 0): {alone[0][0]:.1f} s "
          f"({alone[0][1]:.1f} s of CPU) with numba's cache empty (load {alone[0][2]}), {alone[1][0]:.1f} s ({alone[1][1]:.1f} s "
          f"of CPU) cached (load {alone[1][2]}); the runs below have it cached\n")
    print("| path | centred | first draw, no cache | first draw after a change | up-to-date map drawn after a change | "
          "next draw | draw after a restart (cache file) | map files left | load average (1, 5, 15 min) before -> after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for label, center, t in results:
        print(f"| {label} | {'yes' if center else 'no'} | {t['first']:.1f} s | {t['change']:.2f} s | {t['ready']:.1f} s | "
              f"{t['cached'] * 1000:.1f} ms | {t['restart'] * 1000:.0f} ms | {t['files']} | {t['load']} |")
    for label, center, t in results:
        if t.get("status"):
            print(f"\n{label}, {'centred' if center else 'not centred'}, the first draw after the change said: {t['status']}")
    if args.settings:
        settings()
    return 0


if __name__ == "__main__":
    sys.exit(main())
