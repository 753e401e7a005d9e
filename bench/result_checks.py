"""What one result file must hold beyond its types: scores in their metric's range, a main score that is
its metric, a slug that follows from the method's params, item counts, and agreement with bench's own
task spec. Each check returns (field, message) problems; an empty list means the content is sound."""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache

from pydantic import ValidationError

from bench import BenchError
from bench.limit_points import ceiling_problems
from bench.measurement_checks import measurement_problems
from bench.provenance_checks import provenance_problems
from bench.schema import MethodInfo, RunResult
from bench.taskspec import TASKS

Problem = tuple[str, str]  # (field, message)

# Metric ranges by name (lm-eval's ",filter" part removed): accuracies, matches, ROUGE and retrieval
# metrics are fractions, correlations lie in [-1, 1], perplexities are at least 1. Others: finite only.
METRIC_RANGES: list[tuple[re.Pattern[str], float, float, bool]] = [  # (name, low, high, higher is better)
    (re.compile(r"acc(_norm)?|exact_match|contains|f1|rouge(L|Lsum|\d)|"
                r"(ndcg|recall|mrr|map|precision)_at_\d+"), 0.0, 1.0, True),
    (re.compile(r"(\w+_)?(spearman|pearson)"), -1.0, 1.0, True),
    (re.compile(r"\w*perplexity"), 1.0, math.inf, False),
    (re.compile(r"bits_per_byte"), 0.0, math.inf, False),
]
# What a slug may add to the params' own part: a calibration other than the profile's
# (`-calib-wiki-16x512-seed0`), random's seed (`-seed3`, `-seeds0-1-2`), an --embed variant (`+binary`).
SLUG_SUFFIX = re.compile(r"(-calib[A-Za-z0-9._-]*|-seeds?\d+(-\d+)*)?(\+[A-Za-z0-9._-]+)?")


@lru_cache(maxsize=4096)  # a folder repeats a few metric names thousands of times
def metric_range(name: str) -> tuple[float, float, bool] | None:
    base = name.split(",")[0]
    return next(((low, high, up) for pattern, low, high, up in METRIC_RANGES if pattern.fullmatch(base)), None)


def out_of_range(metric: str, value: float) -> str | None:
    known = metric_range(metric)
    if known and not known[0] <= value <= known[1]:
        return f"{value!r} is outside [{known[0]:g}, {known[1]:g}], the range of {metric.split(',')[0]}"
    return None


def score_problems(field: str, metrics: dict[str, float]) -> list[Problem]:
    found = ((f"{field}.{name}", out_of_range(name, value)) for name, value in metrics.items())
    return [(where, message) for where, message in found if message]


def main_score_problems(result: RunResult) -> list[Problem]:
    if result.main_metric not in result.metrics:
        return [("main_metric", f"{result.main_metric!r} is not among the metrics")]
    problems = []
    if not math.isclose(result.main_score, result.metrics[result.main_metric], rel_tol=1e-9, abs_tol=1e-12):
        problems.append(("main_score", f"{result.main_score!r} is not metrics[{result.main_metric!r}] "
                                       f"({result.metrics[result.main_metric]!r})"))
    known = metric_range(result.main_metric)
    if known and known[2] != result.higher_is_better:
        problems.append(("higher_is_better", f"{result.main_metric} is {'higher' if known[2] else 'lower'} is better"))
    wrong = out_of_range(result.main_metric, result.main_score)
    return problems + ([("main_score", wrong)] if wrong else [])


def task_problems(result: RunResult) -> list[Problem]:
    """Bench's own tasks must match their spec; an upstream mteb task may record 0 items (bench does not
    count the items of mteb's own tasks); every other task scored at least one item."""
    task = result.task
    spec = TASKS.get(task.name) if task.name in TASKS else None
    problems = []
    if spec is None and task.n_items == 0 and task.backend != "mteb":
        problems.append(("task.n_items", "must be > 0 (only an upstream mteb task may record 0)"))
    if spec is None:
        return problems
    if task.n_items == 0:
        problems.append(("task.n_items", f"must be > 0 for bench's own task {task.name}"))
    expected = {"task.backend": (task.backend, spec.backend), "main_metric": (result.main_metric, spec.main_metric),
                "higher_is_better": (result.higher_is_better, spec.higher_is_better)}
    problems += [(field, f"{got!r} is not {want!r}, as task {spec.name} defines it")
                 for field, (got, want) in expected.items() if got != want]
    return problems


def params_slug(method: MethodInfo) -> str:
    """The slug bench gives `method.name` with `method.params` (strictly typed), without suffixes."""
    given = {key: value for key, value in method.params.items() if value is not None}
    return _slug(method.name, json.dumps(given, sort_keys=True))


@lru_cache(maxsize=4096)  # a folder repeats a few dozen (method, params) thousands of times; errors are not kept
def _slug(name: str, params_json: str) -> str:
    from bench.methods import METHODS  # imports torch: only when a file gets this far

    cls = METHODS.get(name)  # BenchError naming the known methods
    try:
        params = cls.Params.model_validate_json(params_json, strict=True)
    except ValidationError as err:
        first = err.errors()[0]
        raise BenchError(f"{'.'.join(map(str, first['loc'])) or 'params'}: {first['msg']}") from None
    return cls(params).slug()


def method_problems(method: MethodInfo) -> list[Problem]:
    try:
        base = params_slug(method)
    except BenchError as err:
        return [("method.params", f"not valid for {method.name!r}: {err}")]
    suffix = method.slug[len(base):] if method.slug.startswith(base) else None
    if suffix is None or not SLUG_SUFFIX.fullmatch(suffix):
        return [("method.slug", f"{method.slug!r} does not follow from the params (expected {base!r}, then "
                                "an optional calibration, seed or +vector suffix)")]
    return []


def content_problems(result: RunResult) -> list[Problem]:
    problems = main_score_problems(result) + score_problems("metrics", result.metrics)
    for index, run in enumerate(result.seed_runs):
        problems += score_problems(f"seed_runs.{index}.metrics", {result.main_metric: run.main_score, **run.metrics})
    wrong = result.dense_reference and out_of_range(result.main_metric, result.dense_reference.main_score)
    problems += [("dense_reference.main_score", wrong)] if wrong else []
    spec = TASKS.get(result.task.name) if result.task.name in TASKS else None
    protocol = None if spec is None else spec.engine.get("protocol", "best_found") if spec.backend == "limit" else ""
    problems += ceiling_problems(result.ceilings, result.metrics, protocol)
    return (problems + task_problems(result) + method_problems(result.method) + provenance_problems(result)
            + measurement_problems(result))
