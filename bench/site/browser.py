"""The system Chromium driven by playwright (never a downloaded browser): the site's browser tests and its
screenshots (`bench site screenshot`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from bench import BenchError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

INSTALL = "apt-get install -y chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise BenchError(f"no chromium on PATH: install the system browser with `{INSTALL}` (as root)")
    return path


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)


def wait_for_charts(page: Page, timeout_ms: int = 10_000) -> None:
    """Until vega-embed has drawn every browser chart of the (loaded) page: it draws after the load event."""
    page.wait_for_function("""() => Array.from(document.querySelectorAll("figure[data-vega]"))
        .every((figure) => figure.querySelector(".vega-chart svg"))""", timeout=timeout_ms)


def screenshot(site: Path, out: Path, pages: dict[str, str], width: int = 1280, height: int = 900) -> list[Path]:
    """Each of `pages` (file name in `out` -> page of the built `site`) as a PNG of the window's first screen."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": width, "height": height})
        for name, relative in pages.items():
            page.goto((Path(site).resolve() / relative).as_uri())
            wait_for_charts(page)
            written.append(out / name)
            page.screenshot(path=str(written[-1]))
        browser.close()
    return written
