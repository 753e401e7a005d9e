"""What a result's measurements must hold beyond their types (bench.measurements: positive and finite): each
speed-up is the ratio its two speeds give, the compressed layers' file is part of the model's, a known
kernel, a memory flag that follows from the profile's budget, and a forced flag that follows from the
machine check's differences."""

from __future__ import annotations

import math
from typing import get_args

from bench.measurements import speedup
from bench.profiles import PROFILES, Kernel
from bench.schema import RunResult

KERNELS = {"nominal", *get_args(Kernel)}
SPEEDS = {"prefill_speedup": "prefill_tokens_per_s", "decode_speedup": "decode_tokens_per_s",
          "documents_speedup": "documents_per_s"}


def measurement_problems(result: RunResult) -> list[tuple[str, str]]:
    problems = []
    check = result.machine_check
    if check and check.forced != bool(check.mismatches):
        problems.append(("machine_check.forced", "a run is forced exactly when the machine check found differences"))
    m = result.measurements
    if m is None:
        return problems
    for field, rate in SPEEDS.items():
        got, pair = getattr(m, field), (getattr(m.speeds, rate), getattr(m.dense_speeds, rate))
        if (got is None) != (None in pair):
            problems.append((f"measurements.{field}", f"is given exactly when both {rate} are"))
        elif got is not None and not all(math.isclose(a, b, rel_tol=1e-9) for a, b in
                                         zip(got.model_dump().values(), speedup(*pair).model_dump().values())):
            problems.append((f"measurements.{field}", f"is not speeds.{rate} over dense_speeds.{rate}"))
    if m.layers_file_bytes > m.model_file_bytes:
        problems.append(("measurements.layers_file_bytes", "exceeds the whole model's file bytes"))
    if m.kernel not in KERNELS:
        problems.append(("measurements.kernel", f"{m.kernel!r} is not one of {', '.join(sorted(KERNELS))}"))
    budget = PROFILES.get(result.profile).memory_gb * 2**30 if result.profile in PROFILES else None
    if budget is not None and m.over_budget != (m.peak_memory_bytes > budget):
        problems.append(("measurements.over_budget", f"does not follow from the peak and {result.profile}'s budget"))
    return problems
