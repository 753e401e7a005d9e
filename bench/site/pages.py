"""Pages of the site: sections (text, a figure, a table) rendered through one base layout; a page's last table
may be long, so it is split over numbered pages (`stem.html`, `stem-2.html`, ...) with its downloads whole."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bench.resources import resource_dir
from bench.site.figures import Figure
from bench.site.tables import SiteTable, page_name, paginate, write_downloads, write_site_file


@dataclass
class Section:
    title: str = ""
    text: str = ""
    figure: Figure | None = None
    table: SiteTable | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, relative href): a list of pages


@dataclass
class Page:
    stem: str  # the file name without .html: letters, digits, '.', '_', '+', '-' (from validated names)
    title: str
    intro: str = ""
    sections: list[Section] = field(default_factory=list)
    paged: SiteTable | None = None  # shown after the sections, split over numbered pages


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(resource_dir("site") / "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def inside(out: Path, name: str) -> Path:
    """`out / name`, proven to stay inside `out` (a name never climbs out of the site)."""
    path = (Path(out) / name).resolve()
    if os.path.commonpath([path, Path(out).resolve()]) != str(Path(out).resolve()):
        raise ValueError(f"{name!r} would be written outside the site")
    return path


def write_page(env: Environment, out: Path, page: Page, nav: list[tuple[str, str]], template: str = "page.html.j2",
               **extra: Any) -> list[Path]:
    """Every table's downloads, then the page (or its numbered pages); returns the HTML files written."""
    for section in page.sections:
        if section.table is not None:
            write_downloads(section.table, out, page.stem)
    chunks = [None]
    if page.paged is not None:
        write_downloads(page.paged, out, page.stem)
        chunks = paginate(page.paged.rows)
    pages = [page_name(page.stem, n) for n in range(1, len(chunks) + 1)]
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    drawn = any(s.figure is not None and s.figure.spec_json is not None for s in page.sections)
    written = []
    for number, rows in enumerate(chunks, start=1):
        paged = None if rows is None else dataclasses.replace(page.paged, rows=rows)
        html = env.get_template(template).render(page=page, sections=page.sections if number == 1 else [],
                                                 paged=paged, pages=pages if len(pages) > 1 else [], number=number,
                                                 nav=nav, built=built, vega=drawn and number == 1, **extra)
        written.append(inside(out, pages[number - 1]))
        write_site_file(written[-1], html)
    return written
