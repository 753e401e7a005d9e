"""The free-embedding experiment of LIMIT (Weller et al. 2025, section 4): the best case of embedding
retrieval, with no model at all.

For n documents, one query per pair of them (every top-2 set). Query and document vectors of
dimension d are optimised directly on these qrels (full-batch softmax loss over all documents,
L2-normalised vectors, Adam) until every query ranks exactly its two documents first. The critical n
of a dimension is the largest n that can be solved, found by galloping then binary search. A
constraint makes the vectors what compression leaves of them (sign bits, an 8-bit grid) during
optimisation, through straight-through gradients: the ceiling each format keeps. Truncation to half
the dimensions is the free problem at half the width, read off the float results.

Unlike the paper, which starts every n from random vectors, each attempt starts from the largest
solution found so far (new documents added at random, the previous dimension's solution padded with a
small constant coordinate): a solution for n documents stays one when documents are removed or a
constant coordinate is added, so each start keeps what was already solved, and the search
for d up to 16 fits in CPU time on two cores. Its results are lower bounds either way.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from bench.assets import LoadedModel, cache_dir
from bench.backends import TaskOutcome
from bench.limit_points import CeilingPoint, metric_name
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.registry import Registry
from bench.files import write_json_atomic
from bench.taskspec import TaskSpec

# A constraint maps unit vectors to what compression keeps of them; the optimiser passes gradients
# straight through it (the gradient of the identity), as quantisation-aware training does.
Constraint = Callable[[torch.Tensor], torch.Tensor]
CONSTRAINTS: Registry[Constraint] = Registry("vector constraint")
CONSTRAINTS.add("float", lambda unit: unit)
# Sign bits: the dot product of +-1 vectors is bits - 2 x Hamming distance (scaled to [-1, 1]).
CONSTRAINTS.add("binary", lambda unit: torch.sign(unit) / math.sqrt(unit.shape[1]))
# 256 levels on a fixed [-1, 1] range per dimension (unit vectors stay in it).
CONSTRAINTS.add("int8", lambda unit: torch.round((unit + 1) * 127.5) / 127.5 - 1)
# Truncation to ceil(d/2) dimensions is the float problem at ceil(d/2): `evaluate` reads it off the
# float table instead of optimising the same thing twice.
TRUNCATE_HALF = "truncate_half"
# The storage precision of each constraint, as the result's ceiling points name it (int8: a fixed grid).
STORED_AS = {"float": "float32", "int8": "int8", "binary": "binary"}
# Scores computed at once (4 bytes each): 2 MB, one core's L2 cache on the machines we target.
CACHE_FLOATS = 2**19


def top_k_sets(n: int, k: int = 2) -> torch.Tensor:
    """(C(n,k), k) document indices: query i is relevant to exactly the i-th k-subset of n documents."""
    return torch.tensor(list(itertools.combinations(range(n), k)), dtype=torch.long).reshape(-1, k)


def solved_queries(scores: torch.Tensor, sets: torch.Tensor) -> torch.Tensor:
    """Per query: each of its documents scores strictly above every other one (ties fail). Overwrites
    `scores`."""
    lowest_relevant = scores.gather(1, sets).amin(dim=1)
    return lowest_relevant > scores.scatter_(1, sets, -math.inf).amax(dim=1)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x, dim=1)


def loss_and_gradients(queries: torch.Tensor, docs: torch.Tensor, sets: torch.Tensor, constraint: Constraint,
                       temperature: float, *, check: bool = False
                       ) -> tuple[float, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The softmax loss over all documents averaged over each query's relevant ones (InfoNCE, full
    batch), its gradients with respect to the raw query and document vectors, and, if `check`, which
    queries are solved. Written out by hand and taken over blocks of queries whose (queries x
    documents) scores fit in a core's cache: those products are the whole cost, and autograd over the
    full matrix spends it moving intermediates through memory (about 3x slower at n = 420 on 2 cores:
    `python -m benchmarks.bench_free_embedding`)."""
    m, k = sets.shape
    unit_q, unit_d = _unit(queries), _unit(docs)
    kept_q, kept_d = constraint(unit_q) / temperature, constraint(unit_d)
    grad_q, grad_d = torch.empty_like(kept_q), torch.zeros_like(kept_d)
    solved = torch.empty(m, dtype=torch.bool, device=queries.device) if check else None
    log_likelihood = 0.0
    rows = max(1, CACHE_FLOATS // len(docs))
    for first in range(0, m, rows):
        block = slice(first, first + rows)
        logits = kept_q[block] @ kept_d.T
        probabilities = torch.softmax(logits, dim=1)
        if solved is not None:
            solved[block] = solved_queries(logits, sets[block])
        log_likelihood += probabilities.gather(1, sets[block]).log().sum().item()
        torch.mm(probabilities, kept_d, out=grad_q[block])
        grad_d.addmm_(probabilities.T, kept_q[block])
    # d loss / d logits = (softmax - 1/k on the relevant documents) / m; logits = kept_q . kept_d / temperature
    grad_q -= kept_d[sets].mean(dim=1)
    grad_d.index_add_(0, sets.flatten(), kept_q.repeat_interleave(k, dim=0), alpha=-1 / k)
    scale = 1 / (temperature * m)
    return (-log_likelihood / (m * k), _through_unit(grad_q * scale, queries, unit_q),
            _through_unit(grad_d / m, docs, unit_d), solved)


def _through_unit(grad_unit: torch.Tensor, raw: torch.Tensor, unit: torch.Tensor) -> torch.Tensor:
    """Backpropagate through x / |x|: drop the radial part, divide by the norm."""
    return (grad_unit - unit * (grad_unit * unit).sum(dim=1, keepdim=True)) / raw.norm(dim=1, keepdim=True)


@dataclass
class Embeddings:
    """Query vectors (one per top-k set, in `top_k_sets` order) and document vectors."""

    queries: torch.Tensor
    docs: torch.Tensor

    @classmethod
    def around(cls, docs: torch.Tensor, k: int) -> Embeddings:
        """Each query at the mean of its documents: no worse than random, and far fewer steps."""
        return cls(_unit(docs)[top_k_sets(len(docs), k).to(docs.device)].mean(dim=1), docs)

    def grown(self, n: int, k: int, generator: torch.Generator) -> Embeddings:
        """n documents: these plus random new ones; the queries of the old sets kept, the new ones
        placed around their documents."""
        old_n, dims = self.docs.shape
        new = torch.randn(n - old_n, dims, generator=generator).to(self.docs.device)
        start = Embeddings.around(torch.cat([self.docs, new]), k)
        # Sets of old documents come in the same relative order among the n documents' sets.
        start.queries[(top_k_sets(n, k) < old_n).all(dim=1)] = self.queries
        return start

    def widened(self, dims: int, generator: torch.Generator) -> Embeddings:
        """The same solution with new coordinates: small (exactly zero would get no gradient) and
        positive, so that sign bits and the 8-bit grid keep them constant and the solution stays one."""
        def pad(x: torch.Tensor) -> torch.Tensor:
            noise = 1e-3 * (1 + torch.rand(len(x), dims - x.shape[1], generator=generator))
            return torch.cat([_unit(x), noise.to(x.device)], dim=1)
        return Embeddings(pad(self.queries), pad(self.docs))


def optimise(start: Embeddings, constraint: Constraint, *, k: int = 2, max_steps: int, patience: int,
             lr: float, temperature: float, check_every: int) -> Embeddings | None:
    """The solved embeddings if optimising from `start` under `constraint` returns every top-k set,
    else None. Gives up when the number of solved queries has not grown for `patience` steps, or
    after `max_steps`."""
    sets = top_k_sets(len(start.docs), k).to(start.docs.device)
    queries, docs = start.queries.clone(), start.docs.clone()
    optimizer = torch.optim.Adam([queries, docs], lr=lr)
    most_solved, last_gain = -1, 0
    for step in range(max_steps + 1):
        check = step % check_every == 0
        _, queries.grad, docs.grad, solved = loss_and_gradients(queries, docs, sets, constraint, temperature,
                                                                 check=check)
        if check:
            count = int(solved.sum())
            if count == len(sets):
                return Embeddings(queries, docs)
            if count > most_solved:
                most_solved, last_gain = count, step
            elif step - last_gain >= patience:
                return None
        optimizer.step()
    return None


class WarmSearch:
    """`solvable(n)` for `critical_n` in `dims` dimensions: each attempt starts from the largest
    solution found so far (`best`; random vectors while there is none), with new documents placed at
    random, trying each temperature from `restarts` random placements: one placement can settle in a
    local minimum that another avoids, and a sharper softmax (lower temperature) solves larger n while
    a softer one is steadier on small n."""

    def __init__(self, dims: int, constraint: Constraint, best: Embeddings | None, *, temperatures: list[float],
                 restarts: int, seed: int, device: str = "cpu", **settings) -> None:
        self.dims, self.constraint, self.best, self.device = dims, constraint, best, device
        self.temperatures, self.restarts, self.settings = temperatures, restarts, settings
        self.generator = torch.Generator().manual_seed(seed * 1000 + dims)

    def __call__(self, n: int) -> bool:
        # Only the first, smallest problem starts cold: it is cheap, and fails more often (two documents
        # can collapse into one, a local minimum), so it gets more restarts.
        restarts = self.restarts if self.best is not None else 5 * self.restarts
        for temperature in self.temperatures:
            for _ in range(restarts):
                solved = optimise(self._start(n), self.constraint, temperature=temperature, **self.settings)
                if solved is not None:
                    self.best = solved
                    return True
        return False

    def _start(self, n: int) -> Embeddings:
        k = self.settings.get("k", 2)
        if self.best is None:  # random queries too, as the paper starts: from a cold start they do better
            queries, docs = (torch.randn(rows, self.dims, generator=self.generator).to(self.device)
                             for rows in (math.comb(n, k), n))
            return Embeddings(queries, docs)
        return self.best.grown(n, k, self.generator)


def critical_n(solvable: Callable[[int], bool], known: int = 2, resolution: float = 0.0
               ) -> tuple[int, list[tuple[int, bool]]]:
    """The largest n with solvable(n), assuming solvability falls off with n: gallop from `known` (an n
    already solved) by growing steps (known + 1, + 2, + 4, ...) to the first failure, then binary search
    between it and the last success, until the gap is at most `resolution` x n (or 1). Returns the
    largest n solved and the (n, solved) trials in order.

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
    while high - low > max(1, int(resolution * low)):
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
    resolution = settings.pop("resolution")  # bisection stops within this share of n (each trial costs minutes)
    dims_run = [row["dims"] for row in rows]
    found: dict[str, dict[int, int]] = {name: {} for name in constraints}
    best: dict[str, Embeddings] = {}
    metrics: dict[str, float] = {}
    cells = [(dims, name) for dims in dims_run for name in constraints
             if name == "float" or (name != TRUNCATE_HALF and dims <= constrained_max_dims)]
    # Each finished search is kept on disk with its solution's documents (JSON, no pickle), so an
    # interrupted run (this task takes most of an hour on 2 cores) resumes where it stopped.
    done_path = cache_dir() / "free_embedding" / f"{_settings_hash(spec, data, settings)}.json"
    done = json.loads(done_path.read_text()) if done_path.exists() else {}
    generator = torch.Generator().manual_seed(settings["seed"])
    for dims, name in tqdm(cells, desc="free-embedding critical n", leave=False):
        key = f"{name}:{dims}"
        if key not in done:
            start = best[name].widened(dims, generator) if name in best else None
            search = WarmSearch(dims, CONSTRAINTS.get(name), start, device=profile.device, **settings)
            started = time.perf_counter()
            n, trials = critical_n(search, found[name].get(dims - 1, settings["k"]), resolution)
            docs = search.best.docs.cpu().tolist() if search.best is not None else None
            done[key] = {"n": n, "seconds": time.perf_counter() - started, "trials": trials, "docs": docs}
            write_json_atomic(done_path, done)
            if search.best is not None:
                best[name] = search.best
        elif done[key]["docs"] is not None:  # resumed: the queries are re-solved around the kept documents
            best[name] = Embeddings.around(torch.tensor(done[key]["docs"], device=profile.device), settings["k"])
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
    points = [CeilingPoint(protocol="best_found", precision=STORED_AS[name], k=settings["k"], d=d, critical_n=n,
                           seconds=done[f"{name}:{d}"]["seconds"], seed=settings["seed"])
              for name, table in found.items() if name in STORED_AS for d, n in table.items()]
    metrics.update({metric_name(point): point.critical_n for point in points})
    return TaskOutcome(metrics=metrics, n_items=len(rows), engine_version=f"torch {torch.__version__}", ceilings=points)


def _settings_hash(spec: TaskSpec, data: TaskData, settings: dict) -> str:
    """Which searches can be reused: not which constraints or dimensions run, only how each search runs."""
    identity = json.dumps([spec.version, settings, data.data_hash], sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _suffix(constraint: str) -> str:
    return "" if constraint == "float" else f"_{constraint}"
