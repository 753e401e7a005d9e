"""The built site in the system Chromium (playwright, pages opened from file://): the index opens without console
errors, sorting reorders rows, a filter hides rows, the search narrows them, and a hostile string from a
submission shows as text and runs nothing. Without Chromium these tests fail, saying how to install it."""

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
    return root / "site"


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

    def open_page(name: str):
        page = context.new_page()
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
    assert page.locator("main script, main img").count() == 0
    assert events == {"errors": [], "dialogs": []}


def test_the_tables_read_with_javascript_off(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto((site / "task-wiki_ppl.html").as_uri())
    assert page.locator("tbody tr").count() == 22 and page.locator(".controls").count() == 0
    assert "100.0%" in page.inner_text("tbody")
    context.close()
