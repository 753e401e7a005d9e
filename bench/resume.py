"""Resuming: which result files already hold what a run would compute, so it skips them."""

from __future__ import annotations

from pathlib import Path

from bench.item_results import items_of
from bench.methods.base import Method
from bench.methods.calibration import CalibrationConfig
from bench.schema import RunResult, load_result
from bench.taskspec import TaskSpec


def finished(path: Path, spec: TaskSpec, data_hash: str, limit: int | None, method: Method,
             calibration: CalibrationConfig) -> RunResult | None:
    """A result counts as done only if it scored this exact task version, data and item limit, with these
    method params (a slug rounds them) and, for one seed's calibrated run, this calibration size and seed;
    and its items file is intact."""
    if not path.exists():
        return None
    try:
        result = load_result(path)
    except ValueError:
        return None  # unreadable or from an older schema: redo it
    task = result.task
    same_task = (task.version, task.data_hash, task.limit) == (spec.version, data_hash, limit)
    same_params = result.method.params == method.params.model_dump(mode="json")
    record = result.calibration
    same_calibration = (record is None or bool(result.seed_runs)  # an aggregate: its seeds are in its slug
                        or (record.samples, record.seed) == (calibration.samples, calibration.seed))
    # its per-item outputs must be there, intact (every task has them but LIMIT's free-embedding search)
    items_intact = spec.backend == "limit" or items_of(path, result) is not None
    return result if same_task and same_params and same_calibration and items_intact else None
