"""A constructive ceiling for LIMIT's top-k sets, and what storage precision does to it.

Document i sits at x(t_i) = (cos t_i, sin t_i, ..., cos k t_i, sin k t_i) / sqrt(k), t_i = 2 pi i / n: a unit
vector in d = 2k dimensions. For a k-subset S, p(t) = -prod_{j in S} (1 - cos(t - t_j)) is a trigonometric
polynomial of degree k, at most 0, and 0 exactly at the t_j of S; its coefficients on cos mt, sin mt (m = 1..k)
form a query whose score for document i is (p(t_i) - p's constant term) / sqrt(k). So in exact arithmetic the k
documents of S, and only they, score highest: every top-k set over any n is representable in 2k dimensions.
What stops it is the margin, which shrinks like (2 pi / n)^(2k) for neighbouring documents, until storing the
vectors in a format erases it. Scores are computed in float64 from the stored values, so the ceiling measures
the storage format, not the arithmetic.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Iterator

import torch

from bench.assets import LoadedModel
from bench.backends import TaskOutcome
from bench.backends.limit import solved_queries
from bench.limit_points import CeilingPoint, metric_name
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.registry import Registry
from bench.taskspec import TaskSpec

# A storage format maps float64 vectors (one per row) to the float64 values the format keeps of them.
Storage = Callable[[torch.Tensor], torch.Tensor]
PRECISIONS: Registry[Storage] = Registry("storage precision")
PRECISIONS.add("float64", lambda x: x)
for _dtype in (torch.float32, torch.float16, torch.bfloat16):
    PRECISIONS.add(str(_dtype).removeprefix("torch."), lambda x, dtype=_dtype: x.to(dtype).to(torch.float64))


@PRECISIONS.register("int8")
def _int8(x: torch.Tensor) -> torch.Tensor:
    """Symmetric 8-bit codes with one scale per vector (its largest magnitude maps to 127)."""
    scale = x.abs().amax(dim=1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny) / 127
    return torch.round(x / scale).clamp_(-127, 127) * scale


@PRECISIONS.register("binary")
def _binary(x: torch.Tensor) -> torch.Tensor:
    """Sign bits (0 counts as +): the dot product ranks by Hamming distance."""
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


def angles(n: int) -> torch.Tensor:
    return 2 * math.pi * torch.arange(n, dtype=torch.float64) / n


def documents(n: int, k: int) -> torch.Tensor:
    """(n, 2k) unit vectors x(t_i)."""
    m = torch.arange(1, k + 1, dtype=torch.float64)
    phases = angles(n)[:, None] * m
    return torch.stack([phases.cos(), phases.sin()], dim=2).reshape(n, 2 * k) / math.sqrt(k)


def polynomial(subsets: torch.Tensor, n: int) -> torch.Tensor:
    """(B, 2k + 1) complex coefficients c_{-k..k} of p(t) = sum c_m e^{imt} for each subset of documents.

    1 - cos(t - t_j) = -e^{-i t_j}/2 z + 1 - e^{i t_j}/2 z^-1 with z = e^{it}; the product is expanded
    exactly, one factor at a time, as a polynomial in z."""
    w = torch.exp(1j * angles(n)[subsets])  # (B, k)
    coefficients = torch.ones(len(subsets), 1, dtype=torch.complex128)  # highest power first
    for j in range(subsets.shape[1]):
        factor = torch.stack([-w[:, j].conj() / 2, torch.ones_like(w[:, j]), -w[:, j] / 2], dim=1)
        grown = torch.zeros(len(subsets), coefficients.shape[1] + 2, dtype=torch.complex128)
        for power in range(3):
            grown[:, power:power + coefficients.shape[1]] += factor[:, power:power + 1] * coefficients
        coefficients = grown
    return -coefficients.flip(1)  # lowest power (z^-k) first


def queries(subsets: torch.Tensor, n: int) -> torch.Tensor:
    """(B, 2k) unit query vectors: p's coefficients on cos mt and sin mt (2 Re c_m, -2 Im c_m), normalised
    (a positive scale changes no ranking)."""
    k = subsets.shape[1]
    positive = polynomial(subsets, n)[:, k + 1:]  # c_1..c_k
    vectors = torch.stack([2 * positive.real, -2 * positive.imag], dim=2).reshape(len(subsets), 2 * k)
    return torch.nn.functional.normalize(vectors, dim=1)


def subset_blocks(n: int, k: int, rows: int) -> Iterator[torch.Tensor]:
    """Every k-subset of range(n), in lexicographic order, as (at most `rows`, k) blocks, without building them all."""
    if k == 1:
        for first in range(0, n, rows):
            yield torch.arange(first, min(first + rows, n))[:, None]
        return
    for head in range(n - k + 1):
        for tail in subset_blocks(n - head - 1, k - 1, rows):
            yield torch.cat([torch.full((len(tail), 1), head), tail + head + 1], dim=1)


def recovers_all(n: int, k: int, storage: Storage, block_scores: int = 2**22) -> bool:
    """Whether every k-subset of n documents is exactly the top k of its query's scores (ties fail) with
    documents and queries stored by `storage`. Stops at the first failure (neighbouring documents, the
    smallest margins, come first)."""
    docs = storage(documents(n, k))
    for subsets in subset_blocks(n, k, max(1, block_scores // n)):
        if not solved_queries(storage(queries(subsets, n)) @ docs.T, subsets).all():
            return False
    return True


def ceiling(k: int, storage: Storage, max_n: int) -> tuple[int, bool]:
    """The largest n (at most `max_n`) at which every k-subset is recovered, searched by galloping from k + 1
    (+1, +2, +4, ...) to the first failure, then bisection; and whether `max_n` stopped the search (the
    result is then a lower bound). Assumes recovery fails from some n on, as the shrinking margin says."""
    low, step = k, 1
    while low + step <= max_n and recovers_all(low + step, k, storage):
        low, step = low + step, step * 2
    if low + step > max_n:
        high = max_n + 1
        if low < max_n and recovers_all(max_n, k, storage):
            return max_n, True
    else:
        high = low + step
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if recovers_all(middle, k, storage) else (low, middle)
    return low, False


def max_n_for(k: int, max_scores: float) -> int:
    """The largest n whose full check, C(n, k) queries x n documents, stays within `max_scores` scores."""
    n = k
    while math.comb(n + 1, k) * (n + 1) <= max_scores:
        n += 1
    return n


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    """The ceiling for each k of the task's rows (d = 2k) in each storage precision of the task."""
    rows = data.rows("test")[:limit]
    points: list[CeilingPoint] = []
    for row in rows:
        k = row["k"]
        max_n = max_n_for(k, spec.engine["max_scores"])
        for precision in spec.engine["precisions"]:
            started = time.perf_counter()
            n, capped = ceiling(k, PRECISIONS.get(precision), max_n)
            points.append(CeilingPoint(protocol="construction", precision=precision, k=k, d=2 * k, critical_n=n,
                                       capped=capped, seconds=time.perf_counter() - started))
    return TaskOutcome(metrics={metric_name(p): p.critical_n for p in points}, n_items=len(rows),
                       engine_version=f"torch {torch.__version__}", ceilings=points)
