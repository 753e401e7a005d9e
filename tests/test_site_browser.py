"""The built site in the system Chromium (playwright, pages opened from file://): the index opens without console
errors, sorting reorders rows, a filter hides rows, the search narrows them, the family charts are drawn by the
vendored vega (marks counted, nothing fetched from a network), and a hostile string from a submission or inside
a browser-drawn chart shows as text and runs nothing. Without Chromium these tests fail, saying how to install it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.site.browser import INSTALL
from tests.synthetic import write_family

HOSTILE = '<script>alert(1)</script>"onmouseover=alert(2) x="{{7*7}}<img src=x onerror=alert(3)>'


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    from bench.site.build import build

    root = tmp_path_factory.mktemp("browser")
    write_family(root / "subs", "org/alpha")
    write_family(root / "subs", "org/beta", notes=HOSTILE)
    build(root / "subs", root / "site")
    write_hostile_chart_page(root / "site")
    return root / "site"


def write_hostile_chart_page(out: Path) -> None:
    """A page whose browser-drawn chart names a hostile model and method (in its title, legend and tooltips):
    validated submissions cannot carry such names, so the page is made through the same seam the site uses."""
    from bench.site.build import _nav
    from bench.site.figures import figure
    from bench.site.pages import Page, Section, environment, write_page

    rows = [dict(model=HOSTILE, task="t", metric="acc", profile="cpu-2c", method=method, sparsity=sparsity,
                 retained_pct=pct) for method, sparsity, pct in [("dense", 0.0, 100.0), (f"{HOSTILE}-sp0.5", 0.5, 60.0),
                                                                 (f"{HOSTILE}-sp0.7", 0.7, 30.0)]]
    chart = figure(out, "hostile", "sparsity", "A hostile name.", "sparsity_chart", rows, HOSTILE, in_browser=True)
    write_page(environment(), out, Page("hostile", "hostile chart", sections=[Section(figure=chart)]), [])


def drawn_charts(page, count: int) -> list[dict[str, int]]:
    """Wait for vega-embed to draw the page's `count` browser charts; per chart, how many SVG elements each kind
    of mark (`mark-symbol`, `mark-line`, `mark-rule`) holds."""
    page.wait_for_function("(n) => document.querySelectorAll('figure[data-vega] .vega-chart svg.marks').length === n",
                           arg=count, timeout=10_000)
    return page.evaluate("""() => Array.from(document.querySelectorAll("figure[data-vega] svg.marks"), (svg) => {
        const marks = {};
        for (const kind of ["mark-symbol", "mark-line", "mark-rule"])
            marks[kind] = svg.querySelectorAll(`g.${kind}.role-mark path, g.${kind}.role-mark line`).length;
        return marks;
    })""")


@pytest.fixture(scope="module")
def browser():
    if shutil.which("chromium") is None:
        pytest.fail(f"the browser tests need the system Chromium: `{INSTALL}` (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    from bench.site.browser import launch

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def opened(browser, site):
    """A function opening a page of the site; it returns the page and the console errors and dialogs seen."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    events: dict[str, list[str]] = {"errors": [], "dialogs": []}

    def open_page(name: str, requests: list[str] | None = None):
        page = context.new_page()
        if requests is not None:
            page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda msg: msg.type == "error" and events["errors"].append(msg.text))
        page.on("pageerror", lambda err: events["errors"].append(str(err)))
        page.on("dialog", lambda dialog: (events["dialogs"].append(dialog.message), dialog.dismiss()))
        page.goto((site / name).as_uri())
        page.wait_for_load_state("load")
        return page, events

    yield open_page
    context.close()


def visible_column(page, header: str) -> list[str]:
    """The text of column `header` in the visible rows of the page's first table."""
    return page.evaluate("""(header) => {
        const table = document.querySelector("table[data-interactive]");
        const column = Array.from(table.tHead.rows[0].cells).findIndex((th) => th.textContent.trim() === header);
        return Array.from(table.tBodies[0].rows).filter((row) => !row.hidden)
            .map((row) => row.cells[column].textContent.trim());
    }""", header)


def test_the_index_opens_without_console_errors_and_has_its_controls(opened):
    page, events = opened("index.html")
    assert page.locator("table[data-interactive] tbody tr").count() == 22  # 2 families x (dense + 10 variants)
    assert page.locator(".controls input[type=search]").count() == 1
    assert page.locator(".controls select").count() >= 3  # model, kind, sparsity / bits, profile
    assert events == {"errors": [], "dialogs": []}


def test_sorting_a_column_changes_the_row_order(opened):
    page, _ = opened("index.html")
    before = visible_column(page, "kick retained %")
    page.get_by_role("button", name="kick retained %").click()
    ascending = visible_column(page, "kick retained %")
    assert ascending != before
    numbers = [float(text.split("%")[0]) for text in ascending]
    assert numbers == sorted(numbers)
    page.get_by_role("button", name="kick retained %").click()
    assert [float(t.split("%")[0]) for t in visible_column(page, "kick retained %")] == sorted(numbers, reverse=True)


def test_a_filter_hides_rows(opened):
    page, _ = opened("index.html")
    page.get_by_label("kind").select_option("quantization")
    kinds = visible_column(page, "kind")
    assert kinds and set(kinds) == {"quantization"} and len(kinds) < 22
    page.get_by_label("kind").select_option("")
    assert len(visible_column(page, "kind")) == 22


def test_the_search_narrows_the_rows(opened):
    page, _ = opened("index.html")
    page.get_by_label("Search").fill("wanda sp0.5")
    methods = visible_column(page, "method")
    assert methods == ["wanda-sp0.5", "wanda-sp0.5"]  # one per family


@pytest.mark.parametrize("name", ["index.html", "family-org__beta.html"])
def test_a_hostile_string_from_a_submission_is_text_and_runs_nothing(opened, name):
    page, events = opened(name)
    page.mouse.move(400, 300)
    for note in page.locator(".note").all():
        note.hover()
    assert HOSTILE in page.inner_text("main")  # shown as typed: no markup made of it, no template evaluated
    assert "49" not in page.inner_text("main").split(HOSTILE)[0][-20:]
    assert page.locator('main script:not([type="application/json"]), main img').count() == 0
    assert events == {"errors": [], "dialogs": []}


def test_the_family_charts_are_drawn_by_the_vendored_vega(opened):
    requests = []
    page, events = opened("family-org__alpha.html", requests)
    marks = drawn_charts(page, 2)  # sparsity and bits
    # wanda and magnitude at three sparsities, sparsegpt at one, each line from the dense parent, on two tasks
    assert marks[0]["mark-symbol"] == 2 * (7 + 3) and marks[0]["mark-line"] == 2 * 3
    assert marks[1]["mark-symbol"] >= 2 * 10 and marks[1]["mark-line"] >= 2
    assert page.locator("figure[data-vega] svg text", has_text="measured sparsity").count() == 1
    assert events == {"errors": [], "dialogs": []}
    assert requests and all(url.startswith("file://") for url in requests)  # no CDN, no network


def test_a_hostile_name_in_a_browser_drawn_chart_is_text_and_runs_nothing(opened):
    page, events = opened("hostile.html")
    assert drawn_charts(page, 1)[0]["mark-symbol"] == 3
    # The last point is a variant's: its tooltip names the hostile method.
    page.locator("g.mark-symbol.role-mark path").last.hover(timeout=5_000)
    texts = page.locator("figure[data-vega] svg text").all_text_contents()
    assert any(HOSTILE.rsplit("/", 1)[-1] in text for text in texts)  # the title: the model's last part, as typed
    assert HOSTILE in page.locator("#vg-tooltip-element").inner_text()
    assert page.locator('img, svg script, [onmouseover], [onerror]').count() == 0
    assert events == {"errors": [], "dialogs": []}


def test_the_tables_read_with_javascript_off(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((site / "task-wiki_ppl.html").as_uri())
    assert page.locator("tbody tr").count() == 22 and page.locator(".controls").count() == 0
    assert "100.0%" in page.inner_text("tbody")
    page.goto((site / "family-org__alpha.html").as_uri())
    assert "This chart is drawn by JavaScript" in page.inner_text("main")  # the <noscript> line, and no chart
    assert page.locator("figure svg").count() == 0 and page.locator("tbody tr").count() == 22
    context.close()
