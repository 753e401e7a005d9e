"""A sweep's matrix expanded into rows, with GitHub Actions' semantics (`strategy.matrix`):

- every key holding a list is an axis; the rows are the product of the axes, the first key varying slowest;
  a key holding one value sets it in every row;
- an axis value that is a mapping sets several keys at once, and is itself a matrix (its own lists expand
  in place), so `variant: [{method: [rtn, gptq], bits: 4}, ...]` reads as one line of a sweep each;
- `exclude` rows drop every row they match (a partial match is enough), before `include` is applied;
- each `include` row is merged into every row whose original values it does not contradict (values added by
  an earlier include may be overwritten, the matrix's own may not); a row that fits no row is added as a row.
"""

from __future__ import annotations

import itertools
from typing import Any

from bench import BenchError

Row = dict[str, Any]


def expand(matrix: Row) -> list[Row]:
    """The rows of a matrix, in order."""
    if not isinstance(matrix, dict):
        raise BenchError(f"a matrix is a mapping of keys to values or lists, got {type(matrix).__name__}")
    axes = {key: value for key, value in matrix.items() if key not in ("include", "exclude")}
    include, exclude = _rows_of(matrix, "include"), _rows_of(matrix, "exclude")
    choices = [[part for value in values for part in _parts(key, value)]
               for key, values in ((k, v if isinstance(v, list) else [v]) for k, v in axes.items())]
    rows = [_merge(parts) for parts in itertools.product(*choices)] if axes else []
    rows = [row for row in rows if not any(_matches(row, drop) for drop in exclude)]
    return _include(rows, include, original=[dict(row) for row in rows])


def _parts(key: str, value: Any) -> list[Row]:
    """What one axis value sets: {key: value}, or the rows of a nested matrix (a mapping value)."""
    if isinstance(value, list):
        raise BenchError(f"matrix key {key!r}: a list inside a list; give several values as one "
                         "comma-separated string (e.g. tasks: wiki_ppl,capitals_mc)")
    return expand(value) if isinstance(value, dict) else [{key: value}]


def _merge(parts: tuple[Row, ...]) -> Row:
    row: Row = {}
    for part in parts:
        clash = next((key for key in part if key in row and row[key] != part[key]), None)
        if clash:
            raise BenchError(f"matrix sets {clash!r} twice in one row: {row[clash]!r} and {part[clash]!r}")
        row.update(part)
    return row


def _rows_of(matrix: Row, key: str) -> list[Row]:
    rows = matrix.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise BenchError(f"matrix {key!r} takes a list of mappings (rows)")
    return rows


def _matches(row: Row, pattern: Row) -> bool:
    return all(key in row and row[key] == value for key, value in pattern.items())


def _include(rows: list[Row], include: list[Row], original: list[Row]) -> list[Row]:
    for extra in include:
        fits = [i for i, own in enumerate(original)
                if all(own[key] == value for key, value in extra.items() if key in own)]
        for i in fits:
            rows[i].update(extra)
        if not fits:
            rows.append(dict(extra))  # matched against no later include: only the matrix's own rows are
    return rows
