"""A site table: columns that say how to show, sort and filter each value, rows as plain dicts, and the CSV and
JSON downloads written beside the page. Cells are escaped text; only numbers go into data-sort."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from markupsafe import Markup

ROWS_PER_PAGE = 400  # a page of the widest table stays well under 1 MB


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def number(form: str) -> Callable[[Any], str]:
    return lambda value: "" if missing(value) else form % value


def retained_text(value: Any, low: Any = None, high: Any = None, std: Any = None) -> str:
    """Like "54.2% [51.0, 57.3] ± 1.3": the figure, its paired bootstrap interval and its seeds' spread."""
    if missing(value):
        return ""
    interval = "" if missing(low) or missing(high) else f" [{low:.1f}, {high:.1f}]"
    return f"{value:.1f}%{interval}" + ("" if missing(std) else f" ± {std:.1f}")


@dataclass(frozen=True)
class Column:
    key: str  # the row's value (what the downloads hold, and what sorts the column)
    label: str
    fmt: Callable[[Any], str] | None = None  # the value as the cell's text; default: str, blank when missing
    numeric: bool = False
    filter: bool = False  # the reader may pick one of the column's values
    link: str | None = None  # the row's key that holds this cell's relative href
    links: bool = False  # the value is a list of (label, relative href): one link each
    note: str = ""  # the header's tooltip: what the column counts
    show: Callable[[dict[str, Any]], str] | None = None  # the cell's text from the whole row (over `fmt`)


@dataclass
class SiteTable:
    """One table of a page: `name` names its downloads (`<page>.<name>.csv` and `.json`)."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    intro: str = ""
    searchable: bool = True
    files: dict[str, str] = field(default_factory=dict)  # "csv"/"json" -> href, set when written

    def body(self) -> Markup:
        """The table's rows as HTML. Built here column by column, not cell by cell in Jinja (a site of 10,000
        results has half a million cells); every text and href is escaped, only our own tags and the numbers in
        data-sort (a float's repr) are not."""
        starts = ['<tr class="dense">' if row.get("is_dense") else "<tr>" for row in self.rows]
        columns = [_cells(c, self.rows) for c in self.columns]
        return Markup("\n".join(start + "".join(cells) + "</tr>" for start, *cells in zip(starts, *columns)))


def _cells(column: Column, rows: list[dict[str, Any]]) -> list[str]:
    """The column's cell, <td> to </td>, in each row."""
    values = [row.get(column.key) for row in rows]
    if column.links:
        return ["<td>" + "".join(f'<a href="{escape(link)}">{escape(label)}</a> ' for label, link in value or [])
                + "</td>" for value in values]
    if column.show is not None:
        texts = [escape(column.show(row)) for row in rows]
    else:
        form = column.fmt or str
        texts = ["" if missing(value) else escape(form(value)) for value in values]
    if column.link:
        texts = [f'<a href="{escape(row[column.link])}">{text}</a>' if row.get(column.link) else text
                 for row, text in zip(rows, texts)]
    if not column.numeric:
        return [f"<td>{text}</td>" for text in texts]
    return [f'<td class="num" data-sort="{key}">{text}</td>' if key else f'<td class="num">{text}</td>'
            for key, text in zip(map(_sort_key, values), texts)]


def _sort_key(value: Any) -> str | None:
    return None if missing(value) or not isinstance(value, (int, float)) else repr(float(value))


def _csv_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading quote."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def write_downloads(table: SiteTable, folder: Path, page: str) -> None:
    """The table's values (not their display text) as `<page>.<name>.csv` and `.json` in `folder`."""
    keys = list(dict.fromkeys(c.key for c in table.columns))
    values = [[None if missing(value) else value for value in map(row.get, keys)] for row in table.rows]
    stem = f"{page}.{table.name}"
    records = [dict(zip(keys, row)) for row in values]
    write_site_file(folder / f"{stem}.json", json.dumps(records, default=str))  # no indent: the C encoder
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(keys)
    writer.writerows([_csv_safe(value) for value in row] for row in values)
    write_site_file(folder / f"{stem}.csv", text.getvalue())
    table.files = {"csv": f"{stem}.csv", "json": f"{stem}.json"}


def write_site_file(path: Path, text: str) -> None:
    """A page or download, readable by everyone who serves the site (a strict umask must not hide it). Not
    synced to disk one by one: the site is rebuilt whole from the results, never edited in place."""
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o644)


def paginate(rows: list[dict[str, Any]], size: int = ROWS_PER_PAGE) -> list[list[dict[str, Any]]]:
    """Rows in pages of at most `size` (one empty page for no rows)."""
    return [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]


def page_name(stem: str, number: int) -> str:
    """`stem.html` for the first page, `stem-2.html` for the second."""
    return f"{stem}.html" if number == 1 else f"{stem}-{number}.html"


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts of Python values, with None for every missing value."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
