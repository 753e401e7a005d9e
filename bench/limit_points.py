"""The typed critical-n points a LIMIT ceiling result stores (`RunResult.ceilings`), one per (protocol, storage
precision, k, d), and what `bench validate` checks of them: each point's metric is in the result's metrics with
the same value, no point repeats, and a point fits its protocol."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from bench.strict import Strict

# paper: the LIMIT paper's optimisation protocol; best_found: bench's warm-started search; construction: the
# explicit trigonometric construction checked in a storage format (bench.backends.limit_construction).
Protocol = Literal["paper", "best_found", "construction"]
Precision = Literal["float64", "float32", "float16", "bfloat16", "int8", "binary"]
PRECISION_ORDER: list[str] = list(Precision.__args__)  # most bits first


class CeilingPoint(Strict):
    protocol: Protocol
    precision: Precision  # how the vectors were stored (optimised: float32)
    k: int = Field(ge=1)  # relevant documents per query
    d: int = Field(ge=1)  # dimensions
    critical_n: int = Field(ge=0)  # the largest n found at which every k-subset is returned exactly
    capped: bool = False  # a cost cap (steps or scores checked) stopped the search: critical_n is a lower bound
    steps: int | None = Field(default=None, ge=0)  # optimisation steps of the run that solved critical_n
    seconds: float = Field(ge=0)  # wall time of this point's whole search
    seed: int | None = None  # the optimiser's seed (None: nothing random)


def metric_name(point: CeilingPoint) -> str:
    """The metric a point's critical n is also reported under, e.g. `critical_n_d4_k2_float32`."""
    return f"critical_n_d{point.d}_k{point.k}_{point.precision}"


def ceiling_problems(ceilings: list[CeilingPoint], metrics: dict[str, float], task_protocol: str | None
                     ) -> list[tuple[str, str]]:
    """(field, message) for every point that disagrees with the result's metrics, repeats, breaks its
    protocol's rules, or is not of `task_protocol` (the protocol bench's own task runs; "": a task that runs
    none, None: a task bench does not know)."""
    problems, seen = [], set()
    for index, point in enumerate(ceilings):
        where = f"ceilings.{index}"
        if task_protocol is not None and point.protocol != task_protocol:
            problems.append((f"{where}.protocol", f"{point.protocol!r}, but the task runs "
                                                  f"{task_protocol or 'no ceiling protocol'}"))
        key = (point.protocol, point.precision, point.k, point.d)
        if key in seen:
            problems.append((where, f"repeats the point for protocol {point.protocol}, {point.precision}, "
                                    f"k={point.k}, d={point.d}"))
        seen.add(key)
        name = metric_name(point)
        if name not in metrics or not math.isclose(metrics[name], point.critical_n):
            problems.append((f"{where}.critical_n", f"{point.critical_n} is not metrics[{name!r}] "
                                                    f"({metrics.get(name, 'missing')})"))
        if point.critical_n < point.k:
            problems.append((f"{where}.critical_n", f"{point.critical_n} is below k={point.k} (k documents are "
                                                    "always their own top k)"))
        if point.protocol == "construction" and (point.d != 2 * point.k or point.steps is not None):
            problems.append((where, "the construction has d = 2k and no optimisation steps"))
        if point.protocol == "paper" and point.precision != "float32":
            problems.append((f"{where}.precision", "the paper's protocol optimises float32 vectors"))
    return problems
