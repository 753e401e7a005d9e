"""A result and its items file: written together by the runner (with the intervals the items give), read
back together on resume, so the items a result names are always the ones its scores came from."""

from __future__ import annotations

import math
from pathlib import Path

from bench import BenchError
from bench.intervals import retained_interval, score_interval
from bench.items import Items, items_file_name, merge_seeds, read_items, save_items, score_of
from bench.schema import ItemsRef, RunResult

RECOMPUTE_TOLERANCE = 1e-6  # relative: lm-eval and mteb sum in their own order


def recomputes(items: Items, score: float) -> bool:
    try:
        again = score_of(items)
    except (ArithmeticError, ValueError):
        return False
    return math.isclose(again, score, rel_tol=RECOMPUTE_TOLERANCE, abs_tol=1e-12)


def items_of(path: Path, result: RunResult) -> Items | None:
    """The items beside the result file at `path`, if they are there, intact (their sha256 is the one the
    result records) and of the same task; else None."""
    if result.items is None or result.items.file != items_file_name(result.task.name):
        return None
    try:
        items, sha256 = read_items(Path(path).parent / result.items.file)
    except ValueError:
        return None
    return items if sha256 == result.items.sha256 and items.task == result.task.name else None


def with_items(result: RunResult, items: Items | None, path: Path, dense_path: Path | None,
               dense: RunResult | None) -> RunResult:
    """Write `items` beside the result file `path` and return the result naming them, with the main score's
    interval and, given its dense parent (`dense`, in the file `dense_path`), the paired retained interval."""
    if items is None:
        return result
    if not recomputes(items, result.main_score):
        raise BenchError(f"{result.task.name}: the engine's per-item outputs do not recompute its "
                         f"{result.main_metric} ({result.main_score!r}); bench cannot store them")
    sha256 = save_items(items, Path(path).parent / items_file_name(result.task.name))
    dense_items = items_of(dense_path, dense) if dense is not None and dense_path is not None else None
    return result.model_copy(update={
        "items": ItemsRef(file=items_file_name(result.task.name), sha256=sha256, n_items=len(items.ids)),
        "score_interval": score_interval(items),
        "retained_interval": retained_interval(dense_items, items, result.higher_is_better) if dense_items else None,
    })


def seed_items(paths: dict[int, Path], runs: dict[int, RunResult]) -> Items | None:
    """Every seed's items as one file's runs (None where a seed has none: a task without items)."""
    per_seed = {seed: items_of(paths[seed], run) for seed, run in runs.items()}
    if any(items is None for items in per_seed.values()):
        return None
    return merge_seeds(per_seed)
