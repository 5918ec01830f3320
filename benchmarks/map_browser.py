"""Drawing and panning the app's map in a browser, as the number of points grows (issue 20).

The demo library's shipped map (12,762 points, ``assets/demo-library/map.csv``, coloured by
region) is grown to 50,000 and 200,000 points by sampling its points with replacement and adding
Gaussian noise of the map's median nearest-neighbour distance (so the growth keeps its clusters and
strands, not a uniform cloud). For each size, the figure the Map tab builds (``explorers.maps.figure``:
WebGL scatter, above ``MAX_DRAWN`` points a seeded sample with the legend counting every item) is
drawn beside the same figure with every point drawn (the Map tab before the sampling), in Debian's
Chromium (Playwright, headless, ``--disable-gpu``: WebGL in software, slower than a desktop's GPU):
the figure's JSON size, the time of ``Plotly.newPlot`` (the first draw; median of ``--repeats``),
and the median time of a pan (``Plotly.relayout`` of the x range by a tenth of its width, 5 pans
each draw).

    python benchmarks/map_browser.py [--sizes 12762 50000 200000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from clamp3.library import LibraryItem  # noqa: E402
from explorers import maps  # noqa: E402

MEASURE = """async ([figure]) => {
  const div = document.getElementById('plot');
  const started = performance.now();
  await Plotly.newPlot(div, figure.data, figure.layout);
  const drawn = performance.now() - started;
  const pans = [];
  for (let i = 1; i <= 5; i++) {
    const range = div._fullLayout.xaxis.range, width = range[1] - range[0];
    const t = performance.now();
    await Plotly.relayout(div, {'xaxis.range': [range[0] + width / 10, range[1] + width / 10]});
    pans.push(performance.now() - t);
  }
  Plotly.purge(div);
  return {drawn, pans};
}"""


def shipped_map() -> tuple[np.ndarray, list[str]]:
    with open(ROOT / "assets" / "demo-library" / "map.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    points = np.array([[float(r["x"]), float(r["y"])] for r in rows], np.float32)
    regions = [r.get("region") or "(none)" for r in rows]
    return points, regions


def grown(points: np.ndarray, regions: list[str], size: int, seed: int = 0) -> tuple[np.ndarray, list[LibraryItem]]:
    """``size`` points: the map's own, then samples of them moved by noise of its nearest-neighbour distance."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    spacing = float(np.median(cKDTree(points).query(points, k=2)[0][:, 1]))
    extra = max(0, size - len(points))
    picks = rng.integers(0, len(points), extra)
    grown_points = np.concatenate([points, points[picks] + rng.normal(0, spacing, (extra, 2)).astype(np.float32)])[:size]
    labels = (regions + [regions[i] for i in picks])[:size]
    rows = [LibraryItem(i, f"/music/{i}.abc", str(i), "symbolic", f"item {i}", {"region": labels[i]}) for i in range(size)]
    return grown_points, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[12_762, 50_000, 200_000])
    parser.add_argument("--repeats", type=int, default=3, help="draws of each figure (the median is kept)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright
    from plotly.offline import get_plotlyjs
    from test_browser import chromium

    points, regions = shipped_map()
    print(f"load average before: {', '.join(f'{v:.2f}' for v in os.getloadavg())}", file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
        page_file = Path(scratch) / "map.html"
        page_file.write_text(f"<html><head><script>{get_plotlyjs()}</script></head><body><div id='plot' style='width:1200px;"
                             "height:640px'></div></body></html>", encoding="utf-8")
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(page_file.as_uri())
        for size in args.sizes:
            at, rows = grown(points, regions, size)
            for label, limit in (("every point (before)", size), (f"the app (sample above {maps.MAX_DRAWN:,})", maps.MAX_DRAWN)):
                saved, maps.MAX_DRAWN = maps.MAX_DRAWN, limit
                try:
                    figure = json.loads(maps.figure(rows, at, "region").to_json())
                finally:
                    maps.MAX_DRAWN = saved
                size_mb = len(json.dumps(figure)) / 2**20
                timings = [page.evaluate(MEASURE, [figure]) for _ in range(args.repeats)]
                draw_ms = statistics.median(t["drawn"] for t in timings)
                pan_ms = statistics.median(p for t in timings for p in t["pans"])
                results.append((size, label, min(size, limit), size_mb, draw_ms, pan_ms))
                print(results[-1], file=sys.stderr, flush=True)
        browser.close()
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}", file=sys.stderr)
    print("| items | map | points drawn | figure JSON | first draw | pan (median of 5) |")
    print("|---:|---|---:|---:|---:|---:|")
    for size, label, drawn, size_mb, draw_ms, pan_ms in results:
        print(f"| {size:,} | {label} | {drawn:,} | {size_mb:.1f} MB | {draw_ms:,.0f} ms | {pan_ms:,.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
