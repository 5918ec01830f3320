"""Issue 20's workbench, clicked through in Debian's Chromium: on a library of the operator's own
(the app started with ``--shared-library-writable``), a lasso drawn on the map selects the items
inside it; the selection is classified, saved as a named set of the library, shown as the map's
colour, compared with another selection, downloaded as a zip (its files, a playlist and a CSV),
and the set is used as a filter in the Search tab (results only from the set).

Each step leaves a screenshot in ``tests/artifacts/workbench/``; with ``CLAMP3_SCREENSHOTS=DIR``
they go to ``DIR`` instead (the README's "Workbench" pictures are made so:
``CLAMP3_SCREENSHOTS=docs/workbench python -m pytest tests/test_workbench.py``)."""

from __future__ import annotations

import csv
import html
import io
import math
import os
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("CLAMP3_SCREENSHOTS") or ROOT / "tests" / "artifacts" / "workbench")
SET_NAME = "lasso picks"
REGIONS = ("Alsace", "Tyrol")


@pytest.fixture(scope="module")
def server(tiny_model, tiny_model_dir, tmp_path_factory):
    from conftest import GOLDEN
    from support import serve_app

    from clamp3 import Embedder, Library
    from clamp3.library.maps import cache_folder, compute_map, save_map

    folder = tmp_path_factory.mktemp("workbench")
    scores = sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:12]
    sidecar = {str(p): {"region": REGIONS[i % 2]} for i, p in enumerate(scores)}
    library = Library(folder / "library", create=True)
    library.add(scores, Embedder(tiny_model), sidecar=sidecar, progress=False)
    # the maps computed here, at full priority (as tests/test_browser.py does: the app's child at
    # niceness 10 takes minutes on a loaded machine)
    for center in (True, False):
        save_map(cache_folder(library), library.meta()["fingerprint"], compute_map(library, None, center), None, center)
    library.close()
    options = ["--weights", str(tiny_model_dir), "--index", str(folder / "library"), "--home", str(folder / "home"),
               "--shared-library-writable"]
    env = {**os.environ, "CLAMP3_CACHE": str(folder / "cache")}
    with serve_app(options, log=folder / "app.log", env=env) as (url, _):
        yield url, folder


@pytest.fixture(scope="module")
def page(server):
    from test_browser import app_page

    url, _ = server
    with app_page(url) as page:
        yield page


def shot(page, name: str, element: str) -> None:
    """The page from ``element`` down, as a visitor scrolled there sees it, in 256 colours (a third of the size)."""
    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(element).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(256)
    small.save(path, optimize=True)


def choose(page, dropdown: str, option: str) -> None:
    """Pick ``option`` of a gradio dropdown (its choices may arrive with its focus event)."""
    page.locator(f"{dropdown} input").click()
    page.locator(f"{dropdown} input").fill(option)
    page.get_by_role("option", name=option, exact=True).click()


def drag(page, corners: list[tuple[float, float]]) -> None:
    """A mouse drag through ``corners`` (page pixels), as a visitor draws a lasso or a box."""
    page.mouse.move(*corners[0])
    page.mouse.down()
    for corner in corners[1:]:
        page.mouse.move(*corner, steps=6)
    page.mouse.up()


def rounded(left: float, top: float, right: float, bottom: float, radius: float = 30.0) -> list[tuple[float, float]]:
    """The corners of a rectangle with rounded corners (a quarter circle of 6 corners each), clockwise."""
    centres = [(right - radius, top + radius, -90), (right - radius, bottom - radius, 0), (left + radius, bottom - radius, 90),
               (left + radius, top + radius, 180)]
    return [(x + radius * math.cos(math.radians(start + 15 * k)), y + radius * math.sin(math.radians(start + 15 * k)))
            for x, y, start in centres for k in range(7)]


def within(x: float, y: float, polygon: list[tuple[float, float]]) -> bool:
    """Whether (x, y) lies inside ``polygon`` (even-odd rule, as the app's ``maps.inside``)."""
    crossings = 0
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            crossings += 1
    return crossings % 2 == 1


def plotted(page) -> list[tuple[float, float, str]]:
    """Every point of the library on the drawn map: its page pixels and its title."""
    return [(x, y, html.unescape(title)) for x, y, title in page.evaluate("""() => {
      const graph = document.querySelector('#map-plot .js-plotly-plot');
      const box = graph.getBoundingClientRect(), xaxis = graph._fullLayout.xaxis, yaxis = graph._fullLayout.yaxis;
      return graph._fullData.filter((t) => t.customdata).flatMap((t) => Array.from(t.x, (x, i) => [
        box.left + xaxis._offset + xaxis.l2p(x), box.top + yaxis._offset + yaxis.l2p(t.y[i]), t.text[i]]));
    }""")]  # (the titles as plotly was given them: escaped)


def selected_titles(page) -> list[str]:
    return page.locator("#map-selection tr td:nth-child(2)").all_inner_texts()


def test_a_lasso_selection_classified_saved_compared_exported_and_used_as_a_filter(page, server):
    from playwright.sync_api import expect
    from test_browser import draw_map

    _, folder = server
    page.get_by_role("tab", name="Map").click()
    tab = page.locator("[role=tabpanel]:visible")
    draw_map(page, tab)
    page.locator("#map-plot .legendtext", has_text="Alsace").first.wait_for()
    page.locator("#map-plot .js-plotly-plot").scroll_into_view_if_needed()

    # a lasso around the left part of the map, corners rounded as a hand draws them: its right side
    # in the widest gap between the points there, so which points are inside is clear
    points = sorted(plotted(page))
    assert len(points) == 12
    gap = max(range(3, 8), key=lambda i: points[i + 1][0] - points[i][0])
    area = page.locator("#map-plot .nsewdrag").first.bounding_box()
    lasso = rounded(area["x"] + 2, area["y"] + 2, (points[gap][0] + points[gap + 1][0]) / 2, area["y"] + area["height"] - 2)
    inside = sorted(title for x, y, title in points if within(x, y, lasso))
    assert len(inside) >= 2
    page.evaluate("() => Plotly.relayout(document.querySelector('#map-plot .js-plotly-plot'), {dragmode: 'lasso'})")
    drag(page, lasso)
    page.locator("#map-selected-count", has_text=f"{len(inside)} items selected").wait_for()
    assert sorted(selected_titles(page)) == inside
    shot(page, "1-a-lasso-on-the-map", "#map-plot")

    tab.get_by_role("button", name="Classify the selection").click()
    page.locator("#map-selection-result", has_text="top class counts").wait_for()
    shot(page, "2-the-selection-classified", "#map-selection")

    tab.get_by_label("name of the selection").fill(SET_NAME)
    tab.get_by_role("button", name="Save the selection").click()
    page.locator("#map-saved-line", has_text=f"saved '{SET_NAME}' ({len(inside)} items) into the library as a named set").wait_for()

    # re-imported as a filter on the map: coloured by the set, its members "yes"
    choose(page, "#map-colour", f"set:{SET_NAME}")
    tab.get_by_role("button", name="Draw").click()
    page.locator("#map-plot .legendtext", has_text=f"yes ({len(inside)})").wait_for()
    assert "Showing the map of" not in page.locator("#map-status").inner_text()  # the same map: only metadata changed
    shot(page, "3-saved-as-a-set-and-the-map-coloured-by-it", "#map-status")

    # a second selection, a box over the whole map, compared with the saved one
    page.evaluate("() => Plotly.relayout(document.querySelector('#map-plot .js-plotly-plot'), {dragmode: 'select'})")
    page.locator("#map-plot .js-plotly-plot").scroll_into_view_if_needed()  # (mouse coordinates are the viewport's)
    area = page.locator("#map-plot .nsewdrag").first.bounding_box()
    drag(page, [(area["x"] + 2, area["y"] + 2), (area["x"] + area["width"] / 2, area["y"] + area["height"] / 2),
                (area["x"] + area["width"] - 2, area["y"] + area["height"] - 2)])
    page.locator("#map-selected-count", has_text="12 items selected").wait_for()
    expect(page.locator("#map-saved input")).to_have_value(SET_NAME)
    tab.get_by_role("button", name="Compare it with the selection").click()
    result = page.locator("#map-selection-result", has_text="Fréchet distance")
    result.wait_for()
    assert f"{len(inside)} reference, 12 compared" in result.inner_text()
    shot(page, "4-compared-with-another-selection", "#map-saved")

    # the selection's files, a playlist and its metadata in one zip, downloaded
    tab.get_by_role("button", name="Download its files (zip with a playlist)").click()
    link = tab.locator("a[href*='selection-12.zip']").first
    link.wait_for()
    served = page.request.get(link.get_attribute("href"))
    assert served.ok
    with zipfile.ZipFile(io.BytesIO(served.body())) as archive:
        names = archive.namelist()
        playlist = archive.read("playlist.m3u").decode()
        table = list(csv.DictReader(io.StringIO(archive.read("selection.csv").decode())))
    music = [n for n in names if n.startswith("music/")]
    assert len(music) == 12 and playlist.startswith("#EXTM3U") and all(n in playlist for n in music)
    assert len(table) == 12 and sorted(r["title"] for r in table if r[f"set:{SET_NAME}"] == "yes") == inside
    assert str(folder) not in playlist + str(table)  # file names only, no server folder

    # the set as the Search tab's filter: the results are its members only
    page.get_by_role("tab", name="Search").click()
    choose(page, "#search-field", f"set:{SET_NAME}")
    expect(page.locator("#search-value input")).to_have_value("yes")
    query = page.get_by_label("Query (any language)")
    query.fill("a folk song")
    query.press("Enter")
    page.locator("#search-status", has_text="searched by text").wait_for()
    rows = page.locator("#search-results table tr")
    rows.nth(len(inside)).wait_for()
    titles = rows.locator("td:nth-child(4)").all_inner_texts()
    assert rows.count() == len(inside) + 1 and sorted(titles) == inside, titles  # (ten would be found without the filter)
    shot(page, "5-search-filtered-by-the-set", "#search-field")
