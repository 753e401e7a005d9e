"""`bench validate`'s checks of a result's items file: read as hostile input, strictly typed, the very file
the result names (sha256), the same task and item count, recomputing the main score (and each seed's), and
intervals that are consistent; and, against the dense parent, the same items."""

from __future__ import annotations

import math
import os
import posixpath
import warnings
from pathlib import Path

from pydantic import ValidationError

from bench.item_results import RECOMPUTE_TOLERANCE
from bench.items import Items, items_file_name, read_items, score_of
from bench.safe_json import UnsafeFile
from bench.schema import Interval, RunResult

Problem = tuple[str, str]  # (field, message); a field inside the items file reads `<file>#<field>`


def _beside(root: Path, rel: str, name: str) -> str:
    """The file `name` in the folder of the result `rel` (a string path: 20,000 of them in a large folder)."""
    return os.path.join(root, posixpath.dirname(rel), name)


def _read(root: Path, rel: str, result: RunResult) -> tuple[Items | None, list[Problem]]:
    ref = result.items
    if ref is None:
        return None, ([] if result.task.backend == "limit" else
                      [("items", "missing: every result but limit_free_embedding's stores its per-item outputs")])
    if ref.file != items_file_name(result.task.name):
        return None, [("items.file", f"must be {items_file_name(result.task.name)!r}, beside the result")]
    try:
        items, sha256 = read_items(_beside(root, rel, ref.file))
    except UnsafeFile as err:
        return None, [("items.file", f"{ref.file} {err}")]
    except ValidationError as err:
        return None, [(f"{ref.file}#{'.'.join(map(str, e['loc']))}" if e["loc"] else ref.file, e["msg"])
                      for e in err.errors()]
    if sha256 != ref.sha256:
        return None, [("items.sha256", f"is not the sha256 of {ref.file} ({sha256}): the file was edited or swapped")]
    _remember_ids(sha256, items)
    return items, []


# The item ids of each items file read so far, by the file's sha256 (its content decides its ids, so the
# pairing check need not read the file a second time); bounded, emptied when full.
_IDS_BY_SHA256: dict[str, frozenset[str]] = {}
_MAX_REMEMBERED = 65536


def _remember_ids(sha256: str, items: Items) -> None:
    if len(_IDS_BY_SHA256) >= _MAX_REMEMBERED:
        _IDS_BY_SHA256.clear()
    _IDS_BY_SHA256[sha256] = frozenset(items.ids)


def _ids(root: Path, rel: str, result: RunResult) -> frozenset[str]:
    """The ids of the items file `result` names: remembered by its sha256, else read (and its sha256 checked)."""
    known = _IDS_BY_SHA256.get(result.items.sha256)
    if known is not None:
        return known
    items, sha256 = read_items(_beside(root, rel, result.items.file))
    if sha256 != result.items.sha256:
        raise ValueError(f"{result.items.file} changed since it was checked")
    return frozenset(items.ids)


def _score(items: Items, run: int | None = None) -> float:
    with warnings.catch_warnings():  # a constant column makes Spearman warn; its NaN is reported instead
        warnings.simplefilter("ignore")
        try:
            return score_of(items, run=run)
        except (ArithmeticError, ValueError):
            return math.nan


def _differs(got: float, want: float) -> bool:
    return not math.isclose(got, want, rel_tol=RECOMPUTE_TOLERANCE, abs_tol=1e-12)


def interval_problems(field: str, interval: Interval | None, point: float | None) -> list[Problem]:
    """low <= high; a percentile interval of a statistic holds the statistic itself (`point`, when given)."""
    if interval is None:
        return []
    if interval.low > interval.high:
        return [(field, f"low {interval.low!r} is above high {interval.high!r}")]
    if point is not None and interval.method == "percentile" and not interval.low <= point <= interval.high:
        return [(field, f"[{interval.low!r}, {interval.high!r}] does not contain the score {point!r}")]
    return []


def item_problems(root: Path, rel: str, result: RunResult) -> list[Problem]:
    items, problems = _read(root, rel, result)
    if items is None:
        return problems + ([("score_interval", "without items to draw it from")] if result.score_interval and
                           not problems else [])
    expected = {"task": (items.task, result.task.name), "main_metric": (items.main_metric, result.main_metric)}
    problems = [(f"{result.items.file}#{name}", f"{got!r} is not the result's {want!r}")
                for name, (got, want) in expected.items() if got != want]
    if len(items.ids) != result.items.n_items:
        problems.append(("items.n_items", f"{result.items.n_items} but {result.items.file} holds {len(items.ids)}"))
    seeds = [run.seed for run in result.seed_runs] or [None]
    if [run.seed for run in items.runs] != seeds:
        problems.append((f"{result.items.file}#runs", f"are for seeds {[r.seed for r in items.runs]}, not {seeds}"))
    else:
        for index, seed_run in enumerate(result.seed_runs):
            if _differs(_score(items, index), seed_run.main_score):
                problems.append((f"seed_runs.{index}.main_score", f"{seed_run.main_score!r} is not what its items "
                                                                  f"recompute ({_score(items, index)!r})"))
    again = _score(items)
    if _differs(again, result.main_score):
        problems.append(("main_score", f"{result.main_score!r} is not what its items recompute ({again!r})"))
    problems += interval_problems("score_interval", result.score_interval, result.main_score)
    return problems + interval_problems("retained_interval", result.retained_interval, None)


def paired_item_problems(root: Path, rel: str, result: RunResult, dense_rel: str, dense: RunResult) -> list[Problem]:
    """A result and its dense parent scored the same items (their items files passed item_problems)."""
    if result.items is None or dense.items is None:
        return []
    try:
        ids = [_ids(root, r, x) for r, x in ((rel, result), (dense_rel, dense))]
    except ValueError as err:  # changed since it was checked
        return [("items", f"cannot be read again: {err}")]
    if ids[0] != ids[1]:
        return [("items", f"scored other items than the dense parent ({len(ids[0] - ids[1])} not in its items, "
                          f"{len(ids[1] - ids[0])} missing)")]
    return []
