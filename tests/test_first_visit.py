"""A first visit, in Debian's Chromium, to the app as ``python app.py`` starts it on a fresh
machine: the embedded default model and the demo library, nothing downloaded. A visitor searches
in two languages, plays a result, classifies a tune of their own and opens the map.

Each step leaves a screenshot in ``tests/artifacts/first-visit/``; with ``CLAMP3_SCREENSHOTS=DIR``
they go to ``DIR`` instead (the README's "First visit" pictures are made so:
``CLAMP3_SCREENSHOTS=docs/first-visit python -m pytest tests/test_first_visit.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("CLAMP3_SCREENSHOTS") or ROOT / "tests" / "artifacts" / "first-visit")
# A jig written for this test in the style of the demo library's tunes (not one of them).
JIG = """X:1
T:A jig for the first visit
M:6/8
L:1/8
K:D
|:A|dfa afd|cec ecA|BdB AFA|Bcd e2A|dfa afd|cec ecA|BdB AFA|d3 d2:|
|:e|fgf fed|ede ecA|fgf fed|e3 e2f|gfe fed|ede ecA|BdB AFA|d3 d2:|
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from support import serve_app

    folder = tmp_path_factory.mktemp("first-visit")
    # the embedded default, as the README's first command starts it (only the port and a home of its own added)
    with serve_app(["--home", str(folder / "home")], log=folder / "app.log", env={**os.environ, "CLAMP3_CACHE": str(folder / "cache")}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def page(server):
    from test_browser import app_page

    with app_page(server) as page:
        yield page


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def visible_tab(page):
    return page.locator("[role=tabpanel]:visible")


def test_search_in_two_languages_and_play_a_result(page):
    query = page.get_by_label("Query (any language)")
    query.fill("an Irish reel")
    query.press("Enter")
    rows = page.locator("#search-results table tr")
    rows.nth(10).wait_for()
    lines = page.locator("#search-results").inner_text().lower().splitlines()[1:]  # a row a line
    assert len(lines) == 10 and "tune_type: reel" in lines[0]
    # the scores found are reels, as the embedded tests count them: 8 in 10 at least (the audio renderings
    # mixed in by calibrated score are a weaker matter; since the text stage an O'Neill air in 4/4 comes 5th)
    scores = [line for line in lines if "\tsymbolic\t" in line]
    assert scores and sum("tune_type: reel" in line for line in scores) >= 0.8 * len(scores), lines
    shot(page, "1-search")

    page.get_by_role("button", name="play 1", exact=True).click()
    page.locator("#search-results tr.clamp3-opened svg").first.wait_for()
    page.locator("#search-results tr.clamp3-opened").scroll_into_view_if_needed()
    shot(page, "2-play")

    query.fill("chinesisches Volkslied")
    query.press("Enter")
    page.locator("#search-status", has_text="chinesisches Volkslied").wait_for()
    rows.nth(10).wait_for()
    assert page.locator("#search-results").inner_text().count("China") >= 5


def test_classify_a_tune_of_ones_own(page, tmp_path):
    (tmp_path / "my-jig.abc").write_text(JIG, encoding="utf-8")
    page.get_by_role("tab", name="Classify").click()
    tab = visible_tab(page)
    tab.locator("input[type=file]").first.set_input_files(str(tmp_path / "my-jig.abc"))
    page.wait_for_timeout(1000)
    tab.get_by_role("button", name="Classify").click()
    bars = page.locator("#classify-plot .js-plotly-plot .bars path")
    bars.first.wait_for()
    assert bars.count() == 6  # the six tune types of the first preset
    page.locator("#classify-plot").scroll_into_view_if_needed()
    shot(page, "3-classify")


def test_open_the_map_with_a_query_pinned(page, demo_items):
    from test_browser import draw_map

    page.get_by_role("tab", name="Map").click()
    tab = visible_tab(page)
    tab.get_by_label("pin a text onto the map").fill("a Chinese folk song")
    draw_map(page, tab)  # (the shipped map: at once)
    page.locator("#map-plot .legendtext", has_text="query: a Chinese folk song").wait_for()
    assert page.locator("#map-plot .legendtext", has_text="China").count() >= 1
    assert page.locator("#map-plot .gtitle").text_content().startswith(demo_items)  # every item of the demo library
    page.locator("#map-plot").scroll_into_view_if_needed()
    shot(page, "4-map")


def test_the_workbench_on_the_demo_library(page):
    """Issue 20 on the embedded default: the map's named clusters, a box selection classified, and
    "more like this" from a search result."""
    from test_browser import draw_map

    page.get_by_role("tab", name="Map").click()
    tab = visible_tab(page)
    tab.get_by_label("pin a text onto the map").fill("")
    tab.get_by_text("name clusters").click()
    draw_map(page, tab)
    page.locator("#map-plot .annotation-text").first.wait_for()
    assert page.locator("#map-plot .annotation-text").count() == 12  # the default k, each named
    page.evaluate("() => Plotly.relayout(document.querySelector('#map-plot .js-plotly-plot'), {dragmode: 'select'})")
    page.locator("#map-plot .js-plotly-plot").scroll_into_view_if_needed()
    box = page.locator("#map-plot .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.45, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.85, box["y"] + box["height"] * 0.6, steps=5)
    page.mouse.up()
    page.locator("#map-selected-count", has_text="items selected").wait_for()
    tab.get_by_role("button", name="Classify the selection").click()
    page.locator("#map-selection-result", has_text="top class counts").wait_for()
    page.locator("#map-plot").scroll_into_view_if_needed()
    shot(page, "5-clusters-and-a-selection")

    page.get_by_role("tab", name="Search").click()
    query = page.get_by_label("Query (any language)")
    query.fill("a Bach chorale")
    query.press("Enter")
    page.locator("#search-results table tr").nth(10).wait_for()
    page.get_by_role("button", name="more like 1", exact=True).click()
    page.locator("#search-status", has_text="more like").wait_for()
    assert page.locator("#search-results table tr").nth(1).locator("td").nth(2).inner_text() == "1.000"
    page.locator("#search-results").scroll_into_view_if_needed()
    shot(page, "6-more-like-this")
