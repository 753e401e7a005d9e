"""The LIMIT paper's own free-embedding protocol (Weller et al. 2025, section 4, and its
`free_embedding_experiment.py`), as opposed to bench's warm-started "best found" search (bench.backends.limit).

For n documents and every k-subset of them as a query: query and document vectors drawn at random and
normalised to unit length, then Adam (learning rate 0.01) on the full-batch InfoNCE loss over all documents
(temperature 0.1, averaged over every relevant pair), the vectors renormalised after every step. A run stops
at 100% top-k accuracy (checked every `log_every` steps: n is solved), when the loss has not improved by
`min_delta` for `patience` steps, or after `max_steps`. Every n starts from the same seed. The critical n is
searched as the paper's code does: gallop (up from a solved start, down from a failed one), bisect, then
sweep n - 4 .. n + 5.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from tqdm import tqdm

from bench.assets import LoadedModel
from bench.backends import TaskOutcome
from bench.backends.limit import polynomial_fit, solved_queries, top_k_sets
from bench.limit_points import CeilingPoint, metric_name
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.taskspec import TaskSpec


@dataclass(frozen=True)
class PaperSettings:
    """The paper code's defaults (DEFAULT_EXPERIMENT_PARAMS)."""

    k: int = 2
    lr: float = 0.01
    temperature: float = 0.1
    patience: int = 1000  # steps without the loss improving by min_delta
    min_delta: float = 1e-5
    max_steps: int = 100_000
    log_every: int = 50  # the accuracy check ("log_interval")
    seed: int = 42


@dataclass(frozen=True)
class Trial:
    n: int
    solved: bool
    steps: int  # optimisation steps taken
    seconds: float
    hit_max_steps: bool  # stopped by the step cap, not by early stopping or success


def infonce_gradients(queries: torch.Tensor, docs: torch.Tensor, sets: torch.Tensor, temperature: float
                      ) -> tuple[float, torch.Tensor, torch.Tensor]:
    """The paper's loss, -mean over relevant (query, document) pairs of log softmax(q . d / T) over all
    documents, and its gradients with respect to the vectors themselves (not through a normalisation: the
    paper renormalises after the step instead)."""
    m, k = sets.shape
    logits = queries @ docs.T / temperature
    log_probabilities = torch.log_softmax(logits, dim=1)
    loss = -log_probabilities.gather(1, sets).sum().item() / (m * k)
    # d loss / d logits = (softmax - 1/k on the relevant documents) / m
    grad_logits = log_probabilities.exp_().scatter_add_(1, sets, torch.full(sets.shape, -1 / k,
                                                                            dtype=logits.dtype, device=logits.device))
    grad_logits /= m * temperature
    return loss, grad_logits @ docs, grad_logits.T @ queries


def paper_trial(n: int, dims: int, settings: PaperSettings, device: str = "cpu") -> Trial:
    """One optimisation run for n documents in `dims` dimensions, from the settings' seed."""
    started = time.perf_counter()
    sets = top_k_sets(n, settings.k).to(device)
    generator = torch.Generator().manual_seed(settings.seed)
    unit = torch.nn.functional.normalize
    queries, docs = (unit(torch.randn(rows, dims, generator=generator), dim=1).to(device) for rows in (len(sets), n))
    optimizer = torch.optim.Adam([queries, docs], lr=settings.lr)
    best, waited, step = math.inf, 0, 0
    for step in range(settings.max_steps):
        loss, queries.grad, docs.grad = infonce_gradients(queries, docs, sets, settings.temperature)
        optimizer.step()
        with torch.no_grad():
            queries.copy_(unit(queries, dim=1))
            docs.copy_(unit(docs, dim=1))
        # The paper's order: the loss of the step's start decides early stopping before the accuracy check.
        if loss < best - settings.min_delta:
            best, waited = loss, 0
        else:
            waited += 1
        if waited >= settings.patience:
            return Trial(n, False, step + 1, time.perf_counter() - started, False)
        if step % settings.log_every == 0 or step == settings.max_steps - 1:
            if solved_queries(queries @ docs.T, sets).all():
                return Trial(n, True, step + 1, time.perf_counter() - started, False)
    return Trial(n, False, settings.max_steps, time.perf_counter() - started, True)


def paper_search(trial: Callable[[int], Trial], start: int, k: int) -> tuple[int | None, dict[int, Trial]]:
    """The paper code's critical-n search: from `start`, gallop up (+1, +2, +4, ...) while solved or down
    (-1, -2, -4, ..., not below k) while failed; bisect between the last solved and the first failed n;
    then sweep n - 4 .. n + 5 around the result (recorded, the result unchanged, as in the paper's code).
    Returns the critical n (None: nothing solved) and every trial by n, each n run once."""
    trials: dict[int, Trial] = {}

    def solved(n: int) -> bool:
        if n not in trials:
            trials[n] = trial(n)
        return trials[n].solved

    low: int | None = None
    high: int | None = None
    if solved(start):
        low, step = start, 1
        while solved(low + step):
            low, step = low + step, step * 2
        high = low + step
    else:
        high, step = start, 1
        while high > k:
            probe = max(high - step, k)
            if solved(probe):
                low = probe
                break
            high, step = probe, step * 2
    critical = low
    if low is not None:
        first, last = low, high
        while first <= last:
            middle = (first + last) // 2
            if solved(middle):
                critical, first = middle, middle + 1
            else:
                last = middle - 1
        for n in range(max(critical - 4, k), critical + 6):
            solved(n)
    return critical, trials


@contextmanager
def one_thread() -> Iterator[None]:
    """The problems are small (at d = 16 about 3,000 queries x 80 documents): one thread runs a step several
    times faster than two contending ones (0.2 against 5 ms at n = 12, d = 4 on the 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    rows = data.rows("test")[:limit]
    engine = {key: value for key, value in spec.engine.items() if key != "protocol"}
    start = engine.pop("start_n")  # the first dimension's first n (the paper's --enable_critical_n_search)
    settings = PaperSettings(**engine)
    points: list[CeilingPoint] = []
    metrics: dict[str, float] = {}
    with one_thread():
        for row in tqdm(rows, desc="paper protocol critical n", leave=False):
            dims, started = row["dims"], time.perf_counter()
            n, trials = paper_search(lambda size: paper_trial(size, dims, settings, profile.device), start, settings.k)
            point = CeilingPoint(protocol="paper", precision="float32", k=settings.k, d=dims, critical_n=n or 0,
                                 capped=any(t.hit_max_steps for t in trials.values() if not t.solved),
                                 steps=trials[n].steps if n else None, seconds=time.perf_counter() - started,
                                 seed=settings.seed)
            points.append(point)
            metrics[metric_name(point)] = point.critical_n
            metrics[f"sweep_max_n_d{dims}"] = max((t.n for t in trials.values() if t.solved), default=0)
            metrics[f"seconds_d{dims}"] = point.seconds
            start = n or start  # the next dimension's search starts where this one ended
    metrics["critical_n_max_d"] = points[-1].critical_n
    if len(points) >= 2:
        fit = polynomial_fit([p.d for p in points], [p.critical_n for p in points])
        metrics.update({f"fit_d{power}": coefficient for power, coefficient in enumerate(fit)})
    return TaskOutcome(metrics=metrics, n_items=len(rows), engine_version=f"torch {torch.__version__}",
                       ceilings=points)
