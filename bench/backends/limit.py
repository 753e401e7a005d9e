"""The free-embedding experiment of LIMIT (Weller et al. 2025, section 4): the best case of embedding
retrieval, with no model at all.

For n documents, one query per pair of them (every top-2 set). Query and document vectors of
dimension d are optimised directly on these qrels (full-batch softmax loss over all documents,
L2-normalised vectors, Adam) until every query ranks exactly its two documents first. The critical n
of a dimension is the largest n that can be solved, found by galloping then binary search. A
constraint makes the vectors what compression leaves of them (sign bits, an 8-bit grid) during
optimisation, through straight-through gradients: the ceiling each format keeps. Truncation to half
the dimensions is the free problem at half the width, read off the float results.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from bench.assets import LoadedModel, cache_dir
from bench.backends import TaskOutcome
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.registry import Registry
from bench.schema import write_json_atomic
from bench.taskspec import TaskSpec

Constraint = Callable[[torch.Tensor], torch.Tensor]
CONSTRAINTS: Registry[Constraint] = Registry("vector constraint")


def _straight_through(x: torch.Tensor, constrained: torch.Tensor) -> torch.Tensor:
    """`constrained` in the forward pass, the gradient of the identity in the backward pass."""
    return x + (constrained - x).detach()


def _unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=1)


CONSTRAINTS.add("float", _unit)
# Sign bits: the dot product of +-1 vectors is bits - 2 x Hamming distance (scaled to [-1, 1]).
CONSTRAINTS.add("binary", lambda x: _straight_through(_unit(x), torch.sign(x) / math.sqrt(x.shape[1])))
# 256 levels on a fixed [-1, 1] range per dimension (unit vectors stay in it).
CONSTRAINTS.add("int8", lambda x: _straight_through(_unit(x), torch.round((_unit(x) + 1) * 127.5) / 127.5 - 1))
# Truncation to ceil(d/2) dimensions is the float problem at ceil(d/2): `evaluate` reads it off the
# float table instead of optimising the same thing twice.
TRUNCATE_HALF = "truncate_half"


def pair_qrels(n: int, k: int = 2) -> torch.Tensor:
    """(C(n,k), n) relevance: query i is relevant to exactly the documents of the i-th k-subset."""
    subsets = list(itertools.combinations(range(n), k))
    relevant = torch.zeros(len(subsets), n, dtype=torch.bool)
    relevant[torch.arange(len(subsets)).repeat_interleave(k), torch.tensor(subsets).flatten()] = True
    return relevant


def solved_queries(scores: torch.Tensor, relevant: torch.Tensor) -> torch.Tensor:
    """Per query: each relevant document scores strictly above every other one (ties fail)."""
    lowest_relevant = scores.masked_fill(~relevant, math.inf).min(dim=1).values
    highest_other = scores.masked_fill(relevant, -math.inf).max(dim=1).values
    return lowest_relevant > highest_other


def solvable(n: int, dims: int, constraint: Constraint, *, temperatures: list[float], restarts: int, seed: int,
             **settings) -> bool:
    """Whether any optimisation solves n documents, trying each temperature from `restarts` random
    starts: one start can settle in a local minimum that another avoids, and a sharper softmax
    (lower temperature) solves larger n while a softer one is steadier on small n."""
    return any(optimise(n, dims, constraint, temperature=t, seed=seed + r, **settings)
               for t in temperatures for r in range(restarts))


def optimise(n: int, dims: int, constraint: Constraint, *, k: int = 2, max_steps: int, patience: int,
             lr: float, temperature: float, check_every: int, seed: int) -> bool:
    """Whether free query/document vectors of `dims` dimensions, under `constraint`, can be optimised
    until every top-k set of n documents is returned. Gives up when the number of solved queries has
    not grown for `patience` steps, or after `max_steps`."""
    relevant = pair_qrels(n, k)
    generator = torch.Generator().manual_seed(seed)
    docs = torch.randn(n, dims, generator=generator)
    # Each query starts at the mean of its relevant documents: no worse than random, far fewer steps.
    queries = (relevant.float() @ _unit(docs)).requires_grad_()
    docs.requires_grad_()
    optimizer = torch.optim.Adam([queries, docs], lr=lr)
    target = relevant.float() / k
    most_solved, last_gain = -1, 0
    for step in range(max_steps + 1):
        scores = constraint(queries) @ constraint(docs).T
        if step % check_every == 0:
            count = int(solved_queries(scores.detach(), relevant).sum())
            if count == len(relevant):
                return True
            if count > most_solved:
                most_solved, last_gain = count, step
            elif step - last_gain >= patience:
                return False
        # Softmax over all documents, averaged over the relevant ones (InfoNCE, full batch).
        loss = -(torch.log_softmax(scores / temperature, dim=1) * target).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return False


def critical_n(solvable: Callable[[int], bool], known: int = 2) -> tuple[int, list[tuple[int, bool]]]:
    """The largest n with solvable(n), assuming solvability falls off with n: gallop from `known` (an n
    already solved) by growing steps (known + 1, + 2, + 4, ...) to the first failure, then binary search
    between it and the last success. Returns n and the (n, solved) trials in order.

    `known` is k for the smallest dimension (k documents are all relevant: trivially solved) and the
    previous dimension's critical n after it: a solution in d dimensions is one in d + 1 (pad a
    constant coordinate), so the search starts where the last one ended, not from scratch."""
    trials: list[tuple[int, bool]] = []

    def attempt(n: int) -> bool:
        trials.append((n, solvable(n)))
        return trials[-1][1]

    low, step = known, 1
    while attempt(low + step):
        low, step = low + step, step * 2
    high = trials[-1][0]
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if attempt(middle) else (low, middle)
    return low, trials


def polynomial_fit(dims: list[int], ns: list[int], degree: int = 3) -> list[float]:
    """Least-squares coefficients (constant first) of critical n as a polynomial in d, as the paper fits."""
    degree = min(degree, len(dims) - 1)
    return [float(c) for c in np.polynomial.polynomial.polyfit(dims, ns, degree)]


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    rows = data.rows("test")[:limit]
    settings = dict(spec.engine)
    constraints = settings.pop("constraints")
    constrained_max_dims = settings.pop("constrained_max_dims")  # the constrained searches stop here (CPU time)
    dims_run = [row["dims"] for row in rows]
    found: dict[str, dict[int, int]] = {name: {} for name in constraints}
    metrics: dict[str, float] = {}
    cells = [(dims, name) for dims in dims_run for name in constraints
             if name == "float" or (name != TRUNCATE_HALF and dims <= constrained_max_dims)]
    # Each finished search is kept on disk, so an interrupted run (this task can take an hour) resumes.
    done_path = cache_dir() / "free_embedding" / f"{_settings_hash(spec, data)}.json"
    done = json.loads(done_path.read_text()) if done_path.exists() else {}
    for dims, name in tqdm(cells, desc="free-embedding critical n", leave=False):
        key = f"{name}:{dims}"
        if key not in done:
            constraint = CONSTRAINTS.get(name)
            started = time.perf_counter()
            known = found[name].get(dims - 1, settings["k"])
            n, trials = critical_n(lambda n: solvable(n, dims, constraint, **settings), known)
            done[key] = {"n": n, "seconds": time.perf_counter() - started, "trials": trials}
            write_json_atomic(done_path, done)
        found[name][dims] = done[key]["n"]
        metrics[f"seconds_d{dims}{_suffix(name)}"] = done[key]["seconds"]
    if TRUNCATE_HALF in constraints:
        found[TRUNCATE_HALF] = {d: found["float"][math.ceil(d / 2)] for d in dims_run
                                if math.ceil(d / 2) in found["float"]}
    for name, table in found.items():
        metrics.update({f"critical_n_d{dims}{_suffix(name)}": n for dims, n in table.items()})
    metrics["max_d"] = max(dims_run)
    metrics["critical_n_max_d"] = found["float"][max(dims_run)]
    for name, table in found.items():
        if name != "float" and table:  # how much of the free ceiling a constraint keeps, summed over d
            metrics[f"kept_{name}"] = sum(table.values()) / sum(found["float"][d] for d in table)
    if len(dims_run) >= 2:
        for power, coefficient in enumerate(polynomial_fit(dims_run, [found["float"][d] for d in dims_run])):
            metrics[f"fit_d{power}"] = coefficient
    return TaskOutcome(metrics=metrics, n_items=len(rows), engine_version=f"torch {torch.__version__}")


def _settings_hash(spec: TaskSpec, data: TaskData) -> str:
    identity = json.dumps([spec.version, spec.engine, data.data_hash], sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _suffix(constraint: str) -> str:
    return "" if constraint == "float" else f"_{constraint}"
