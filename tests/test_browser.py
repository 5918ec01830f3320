"""End-to-end in a real browser: Playwright drives Debian's Chromium (``apt-get install chromium``,
done by ``.ci/run``; Playwright downloads nothing) against ``python app.py`` on the tiny test model
and a library of real scores. Screenshots are kept in ``tests/artifacts/``."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
XSS_TITLE = '<img src=x onerror="window.__xss=1">'


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("no Chromium on this machine: 'apt-get install chromium' (.ci/run does it)")


@contextlib.contextmanager
def app_page(url: str) -> Iterator:
    """A page of Debian's Chromium on the app at ``url``, loaded (its title shown), 90 s a wait."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(90_000)
            page.goto(url)
            page.get_by_text("CLaMP 3 explorer").first.wait_for()
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(tiny_model, tiny_model_dir, tmp_path_factory):
    from conftest import GOLDEN
    from support import serve_app

    from clamp3 import Embedder, Library

    folder = tmp_path_factory.mktemp("browser")
    scores = sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:12]
    sidecar = {str(p): {"region": ("Alsace", "Tyrol")[i % 2]} for i, p in enumerate(scores)}
    sidecar[str(scores[0])]["title"] = XSS_TITLE
    library = Library(folder / "library", create=True)
    library.add(scores, Embedder(tiny_model), sidecar=sidecar, progress=False)
    # The maps computed here, at full priority, into the library's cache: the app computes a missing map in a
    # child at niceness 10, which on a loaded machine (4 busy processes on 2 cores) takes minutes; these tests
    # are about the page (tests/test_maps.py covers the background maps)
    from clamp3.library.maps import cache_folder, compute_map, save_map

    for center in (True, False):
        save_map(cache_folder(library), library.meta()["fingerprint"], compute_map(library, None, center), None, center)
    library.close()
    (folder / "root").mkdir()
    options = ["--weights", str(tiny_model_dir), "--index", str(folder / "library"), "--home", str(folder / "home"),
               "--max-upload-mb", "1", "--roots", str(folder / "root")]
    with serve_app(options, log=folder / "app.log") as (url, _):
        yield url, folder


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server, request):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_text("CLaMP 3 explorer").first.wait_for()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    page.close()


def open_tab(page, name: str) -> None:
    """Click a tab; on a narrow screen gradio folds the last tabs into a "More tabs" menu."""
    tab = page.get_by_role("tab", name=name)
    if tab.count():
        tab.click()
        return
    page.get_by_role("button", name="More tabs").click()
    page.locator(".overflow-dropdown button", has_text=name).click()


def draw_map(page, tab, tries: int = 8) -> None:
    """Click Draw until the map shows, as a visitor would: a first map is computed in a child
    process at low priority, and a draw that has waited FIRST_MAP_WAIT_SECONDS for it says "draw
    again in a moment" (on a loaded machine, more than once)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(tries):
        tab.get_by_role("button", name="Draw").click()
        try:
            page.locator("#map-plot .js-plotly-plot").first.wait_for(timeout=40_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"no map after {tries} draws")


def test_type_a_query_and_see_results(page):
    page.get_by_label("Query (any language)").fill("Chinesisches Volkslied aus Shanxi")
    page.get_by_label("Query (any language)").press("Enter")
    rows = page.locator("#search-results table tr")
    rows.nth(10).wait_for()
    assert rows.count() == 11  # the header and ten results
    assert page.evaluate("window.__xss") is None  # the title holding an onerror handler ran nothing
    assert XSS_TITLE in page.locator("#search-results").inner_text()  # shown as text
    # the second row's play button: its score shows in the row, its sound in the player
    page.get_by_role("button", name="play 2", exact=True).click()
    page.locator("#search-results tr.clamp3-opened svg").first.wait_for()
    assert page.locator("#search-results tr").nth(3).get_attribute("class") == "clamp3-opened"
    # issue 20: "more like this" on the fourth result: a search with its vector, that item first at 1.000
    fourth = page.locator("#search-results tr", has=page.get_by_role("button", name="more like 4", exact=True)).locator("td").nth(3).inner_text()
    page.get_by_role("button", name="more like 4", exact=True).click()
    page.locator("#search-status", has_text="more like").wait_for()
    assert rows.nth(1).locator("td").nth(3).inner_text() == fourth and rows.nth(1).locator("td").nth(2).inner_text() == "1.000"


def test_upload_a_midi_and_get_class_probabilities(page):
    from conftest import GOLDEN

    open_tab(page, "Classify")
    tab = page.locator("[role=tabpanel]:visible")
    tab.locator("input[type=file]").first.set_input_files(str(GOLDEN / "convert" / "midi" / "bwv417.mid"))
    page.wait_for_timeout(1000)
    tab.get_by_role("button", name="Classify").click()
    bars = page.locator("#classify-plot .js-plotly-plot .bars path")
    bars.first.wait_for()
    assert bars.count() == 6  # the six tune types of the first preset
    assert "probability" in page.locator("#classify-plot").inner_text()


def test_open_the_map(page):
    open_tab(page, "Map")
    tab = page.locator("[role=tabpanel]:visible")
    tab.get_by_label("pin a text onto the map").fill("a folk song")
    draw_map(page, tab)
    page.locator("#map-plot .legendtext", has_text="Alsace").first.wait_for()
    assert page.locator("#map-plot .legendtext", has_text="query: a folk song").count() == 1
    # issue 18: a click on a point plays it and shows its score below the map (in view first: a mouse
    # click at page coordinates does not scroll)
    page.locator("#map-plot .js-plotly-plot").scroll_into_view_if_needed()
    x, y = page.evaluate("""() => {
      const graph = document.querySelector('#map-plot .js-plotly-plot');
      const trace = graph._fullData[0], box = graph.getBoundingClientRect();
      const xaxis = graph._fullLayout.xaxis, yaxis = graph._fullLayout.yaxis;
      return [box.left + xaxis._offset + xaxis.l2p(trace.x[0]), box.top + yaxis._offset + yaxis.l2p(trace.y[0])];
    }""")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(3):  # as a visitor would, again if a loaded machine missed the first
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y, steps=3)
        page.locator("#map-plot .hoverlayer .hovertext").first.wait_for(timeout=15_000)  # plotly found a point there
        page.mouse.click(x, y)
        try:  # the item's line: its title (escaped: the XSS title is one of them), fields, then its score or a note
            page.locator("#map-picked p b").first.wait_for(timeout=40_000)
            break
        except PlaywrightTimeout:
            assert attempt < 2, "a click on a point showed nothing"
    shown = page.locator("#map-picked")
    assert "Alsace" in shown.inner_text() or "Tyrol" in shown.inner_text()
    # engraved, or (a score verovio cannot read: bwv1.6's conversion) a one-line note naming the file
    assert shown.locator(".clamp3-score svg").count() or shown.locator(".clamp3-note").count()
    assert page.evaluate("window.__xss") is None
    # issue 18, bug 2: Export with the boxes as they come exported nothing ("the selection is empty")
    tab.get_by_text("Export a selection as CSV").click()
    tab.get_by_role("button", name="Export", exact=True).click()
    tab.locator("a[href*='map-selection-']").first.wait_for()
    assert "the selection is empty" not in page.content()


def test_bad_uploads_get_a_clear_message_and_the_app_keeps_serving(page, server, tmp_path):
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not music")
    page.locator("input[type=file]").first.set_input_files(str(tmp_path / "notes.docx"))
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Search").click()
    page.get_by_text("unsupported file type '.docx'").first.wait_for()
    (tmp_path / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06 broken")
    page.reload()  # an empty file box again
    page.locator("input[type=file]").first.set_input_files(str(tmp_path / "corrupt.mid"))
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Search").click()
    page.get_by_text("corrupt.mid").first.wait_for()
    open_tab(page, "Library")
    tab = page.locator("[role=tabpanel]:visible")
    tab.get_by_label("...or a server folder", exact=False).fill("/etc")
    tab.get_by_role("button", name="Add to the library").click()
    page.get_by_text("outside the allowed folders").first.wait_for()
    page.reload()  # a fresh page: the search tab's file box empty again
    page.get_by_label("Query (any language)").fill("a jig")
    page.get_by_label("Query (any language)").press("Enter")
    page.locator("#search-results table tr").nth(5).wait_for()


def test_a_visitors_additions_are_their_own_and_go_when_the_page_closes(browser, server):
    """Issue 16: the Library tab added to the library every visitor searches, for good."""
    import time

    from conftest import GOLDEN

    url, folder = server
    sessions = folder / "home" / "sessions"
    midi = str(GOLDEN / "convert" / "midi" / "bwv417.mid")
    pages = [browser.new_page(viewport={"width": 1280, "height": 1000}) for _ in range(2)]
    for page in pages:
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_text("CLaMP 3 explorer").first.wait_for()
    mine, theirs = pages
    open_tab(mine, "Library")
    tab = mine.locator("[role=tabpanel]:visible")
    tab.locator("input[type=file]").first.set_input_files(midi)
    mine.wait_for_timeout(1000)
    tab.get_by_role("button", name="Add to the library").click()
    mine.locator("#library-stats", has_text="1 of at most 500").wait_for()
    mine.get_by_text("and 1 of yours").first.wait_for()  # issue 18: the header's count follows the additions
    assert len(list(sessions.iterdir())) == 1
    for page, marked in ((mine, 1), (theirs, 0)):  # the same file as the query: found as the first result by its owner only
        open_tab(page, "Search")
        page.locator("input[type=file]").first.set_input_files(midi)
        page.wait_for_timeout(1000)
        page.get_by_role("button", name="Search").click()
        page.locator("#search-results table tr").nth(5).wait_for()
        assert page.locator("#search-results td", has_text="yours").count() == marked
    mine.close(run_before_unload=True)
    deadline = time.monotonic() + 60
    while list(sessions.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not list(sessions.iterdir())  # the page's unload removed its library and upload
    theirs.close()


def test_train_tab_explains_checks_and_keeps_a_run_across_a_reload(page, server, tmp_path):
    """Issue 18 bug 6: the upload format was not explained; a CSV whose music could not come with it
    failed a minute into its run; Stop promised a checkpoint that did not exist, with no Resume;
    a reload lost the run."""
    import re

    from conftest import GOLDEN
    from playwright.sync_api import expect

    scores = sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:6]
    table = tmp_path / "pairs.csv"
    table.write_text("\n".join(["path,text"] + [f"music/{s.name},tune number {i}" for i, s in enumerate(scores)]) + "\n")
    state, slow = page.locator("#train-state textarea"), {"timeout": 180_000}

    def upload(files: list[Path]) -> None:
        open_tab(page, "Train")
        tab = page.locator("[role=tabpanel]:visible")
        tab.locator("input[type=file]").first.set_input_files([str(f) for f in files])
        tab.get_by_text(files[-1].stem).first.wait_for()  # the upload finished

    upload([table])
    tab = page.locator("[role=tabpanel]:visible")
    assert "What to upload" in tab.inner_text() and tab.locator("#train-example").is_visible()
    tab.get_by_role("button", name="Start").click()
    page.get_by_text("6 of 6 pairs cannot be used, nothing started: pairs.csv:2: missing music file music/").first.wait_for()
    page.reload()
    page.get_by_text("CLaMP 3 explorer").first.wait_for()
    upload([table, *scores])
    tab = page.locator("[role=tabpanel]:visible")
    tab.get_by_label("epochs").fill("10000")
    tab.get_by_label("batch size").fill("2")
    tab.get_by_role("button", name="Start").click()
    # Start's answer (with its warning) is soon replaced by the run's state, which keeps the counts
    expect(state).to_have_value(re.compile(r"^started run \S+ on 6 pairs \(only 1 held out|^running for"), **slow)
    expect(state).to_have_value(re.compile(r"^running for \d+ s: run \S+, (starting|step \d+ of \d+) \(6 pairs, 1 held out\)"), **slow)
    page.reload()  # a new gradio session: the run is found again by the browser's token
    page.get_by_text("CLaMP 3 explorer").first.wait_for()
    open_tab(page, "Train")
    expect(state).to_have_value(re.compile(r"^running for \d+ s: run \S+, step \d+ of"), **slow)  # past its first step
    expect(page.locator("#train-log textarea")).to_have_value(re.compile("clamp3 train clamp3 --config config.yaml"), **slow)
    page.locator("[role=tabpanel]:visible").get_by_role("button", name="Stop").click()
    # the Stop's answer, or the next tick's state after it: the same facts
    expect(state).to_have_value(re.compile(r"^stopped:? run \S+; step (\d+) of \d+; its checkpoint at step \1: Resume continues"), **slow)
    page.locator("[role=tabpanel]:visible").get_by_role("button", name="Resume").click()
    expect(state).to_have_value(re.compile(r"^(resumed run|running for)"), **slow)
    expect(state).to_have_value(re.compile(r"^running for"), **slow)  # the page's ticks follow the resumed run
    page.locator("[role=tabpanel]:visible").get_by_role("button", name="Stop").click()
    expect(state).to_have_value(re.compile(r"^stopped:? run"), **slow)


def test_search_by_says_which_input_and_an_error_clears_the_results(page, tmp_path):
    """Issue 18, bug 5: a file left in the drop zone overrode a typed text, and an error left the
    previous results on screen under it."""
    from conftest import GOLDEN

    box = page.get_by_label("Query (any language)")
    page.locator("input[type=file]").first.set_input_files(str(GOLDEN / "convert" / "midi" / "bwv417.mid"))
    page.locator("#search-by input[value=file]:checked").wait_for()  # the drop made "file" the input searched by
    box.fill("a jig")
    page.locator("#search-by input[value=text]:checked").wait_for()  # typing made it "text" again
    box.press("Enter")
    page.locator("#search-status", has_text="searched by text: a jig").wait_for()
    page.locator("#search-results table tr").nth(5).wait_for()
    page.get_by_role("button", name="Clear", exact=True).first.click()  # the file box's own: an empty drop zone again
    page.locator("#search-by input[value=text]:checked").wait_for()
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not music")
    page.locator("input[type=file]").first.set_input_files(str(tmp_path / "notes.docx"))
    page.locator("#search-by input[value=file]:checked").wait_for()
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_text("unsupported file type '.docx'").first.wait_for()
    assert page.locator("#search-results table").count() == 0  # the earlier results went with the error
    assert "searched by" not in page.locator("#search-status").inner_text()  # (gradio marks the box "Error")


def test_a_link_restores_a_search_and_the_list_downloads(browser, server):
    url, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(url + "?q=a%20jig%20%3Cb%3E&modality=bogus&k=12")
    page.locator("#search-status", has_text="searched by text: a jig <b>, 12 results").wait_for()
    assert page.get_by_label("Query (any language)").input_value() == "a jig <b>"
    assert page.locator("#search-results table tr").count() == 13
    assert "q=a+jig+%3Cb%3E&modality=all&k=12" in page.locator("#search-link").get_attribute("href")
    page.get_by_text("results 1-12 of 12").first.wait_for()
    page.get_by_role("button", name="Download the list (CSV, JSON)").click()
    link = page.locator("a[download='results.csv']")  # gradio shows the name as "results" ".csv"
    link.wait_for()
    served = page.request.get(link.get_attribute("href"))
    assert served.ok
    lines = served.text().splitlines()
    assert lines[0] == "rank,score,id,title,passage,modality,library,file,metadata" and len(lines) == 13
    assert str(ROOT) not in served.text()  # file names only (the scores are under tests/data), no server folder
    page.close()


def test_a_phone_screen_scrolls_the_table_not_the_page_and_statistics_have_no_empty_header(browser, server):
    url, _ = server
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.get_by_text("CLaMP 3 explorer").first.wait_for()
    box = page.get_by_label("Query (any language)")
    box.fill("a folk song")
    box.press("Enter")
    page.locator("#search-results table tr").nth(5).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    scroller = page.locator("#search-results .clamp3-scroll")
    assert scroller.evaluate("e => e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === 'auto'")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-on-a-phone.png"), full_page=True)
    open_tab(page, "Library")  # folded into the "More tabs" menu at this width
    page.locator("#library-stats", has_text="items").first.wait_for()
    assert page.locator("#library-stats th").count() == 0  # no header row of empty cells
    page.close()


def test_a_box_selection_on_the_map_is_saved_classified_zipped_and_searched_within(page):
    """Issue 20: a box drawn on the map (plotly's select mode) lists the points in it; the
    selection is classified, saved, downloaded as a zip, and the Search tab searches within it."""
    open_tab(page, "Map")
    tab = page.locator("[role=tabpanel]:visible")
    draw_map(page, tab)
    page.locator("#map-plot .legendtext", has_text="Alsace").first.wait_for()
    # plotly's box select over the whole plotting area: every point of the library
    page.evaluate("() => Plotly.relayout(document.querySelector('#map-plot .js-plotly-plot'), {dragmode: 'select'})")
    box = page.locator("#map-plot .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    page.locator("#map-selected-count", has_text="12 items selected").wait_for()

    tab.get_by_role("button", name="Classify the selection").click()
    page.locator("#map-selection-result", has_text="top class counts").wait_for()
    tab.get_by_label("name of the selection").fill("everything")
    tab.get_by_role("button", name="Save the selection").click()
    page.locator("#map-selection-result", has_text="saved 'everything' (12 items)").wait_for()
    tab.get_by_role("button", name="Download its files (zip with a playlist)").click()
    tab.locator("a[href*='selection-12.zip']").first.wait_for()

    open_tab(page, "Search")
    search_tab = page.locator("[role=tabpanel]:visible")
    search_tab.locator("#search-within input").click()
    page.get_by_role("option", name="everything").click()
    page.get_by_label("Query (any language)").fill("a folk song")
    page.get_by_label("Query (any language)").press("Enter")
    page.locator("#search-results table tr").nth(10).wait_for()


def test_a_run_stops_with_the_app_that_started_it(browser, server, tiny_model_dir, tmp_path):
    """A Train-tab run went on after its app was stopped (SIGTERM: how a Space or a service manager
    stops it), using the cores with no page left to stop it. Now the app's exit stops it, with a
    checkpoint, and no process of it is left."""
    import json
    import re

    from conftest import GOLDEN
    from playwright.sync_api import expect
    from support import serve_app

    _, folder = server
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    lines = []
    for i, score in enumerate(sorted((GOLDEN / "convert" / "abc_official").glob("*.abc"))[:6]):
        shutil.copy(score, root / score.name)
        lines.append(json.dumps({"path": score.name, "text": f"tune number {i}"}))
    (root / "pairs.jsonl").write_text("\n".join(lines) + "\n")
    options = ["--weights", str(tiny_model_dir), "--index", str(folder / "library"), "--home", str(home), "--roots", str(root)]
    with serve_app(options, log=tmp_path / "app.log") as (url, app):
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_text("CLaMP 3 explorer").first.wait_for()
        open_tab(page, "Train")
        tab = page.locator("[role=tabpanel]:visible")
        tab.get_by_label("...or a server path").fill(str(root / "pairs.jsonl"))
        tab.get_by_label("epochs").fill("10000")
        tab.get_by_label("batch size").fill("2")
        tab.get_by_role("button", name="Start").click()
        expect(page.locator("#train-state textarea")).to_have_value(re.compile(r"^running for \d+ s: run \S+, step \d+ of"),
                                                                    timeout=180_000)
        page.close()
        app.terminate()
        assert app.wait(timeout=90) == 0, (tmp_path / "app.log").read_text()[-3000:]
    runs = [run for run in (home / "runs").iterdir() if (run / "config.yaml").exists()]
    assert len(runs) == 1 and (runs[0] / "checkpoint.pt").exists(), (runs[0] / "train.log").read_text()
    left = []
    for process in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if process.name.isdigit() and str(home).encode() in (process / "cmdline").read_bytes():
                left.append(process.name)
    assert not left
