"""Evaluation engines: lm-eval for LLM tasks, mteb for retrieval and embedding tasks, and torch for
LIMIT's free-embedding experiment."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from bench import BenchError
from bench.assets import LoadedModel
from bench.items import Items
from bench.limit_points import CeilingPoint
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.taskspec import TaskSpec


@dataclass
class TaskOutcome:
    metrics: dict[str, float]  # the spec's metrics, as the engine computed them
    n_items: int
    engine_version: str
    # mteb: the splits and hf subsets every metric is averaged over (the MTEB leaderboard's aggregation)
    splits: list[str] = field(default_factory=list)
    subsets: list[str] = field(default_factory=list)
    items: Items | None = None  # per-item outputs (bench.items); None only for the LIMIT ceiling tasks
    ceilings: list[CeilingPoint] = field(default_factory=list)  # LIMIT ceiling tasks: their critical-n points


@contextmanager
def upstream_errors(engine: str, upstream: str | None) -> Iterator[None]:
    """An engine failing on one of its own tasks (usually: its data could not be fetched) ends in one
    line; failures on our offline tasks, and our own BenchErrors, pass through unchanged."""
    try:
        yield
    except BenchError:
        raise
    except Exception as err:
        if not upstream:
            raise
        raise BenchError(f"{engine} task {upstream!r} could not run ({type(err).__name__}); upstream tasks "
                         "fetch their data from the hub and need the network") from err


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    if spec.backend == "lm_eval":
        from bench.backends.lm_eval import evaluate as run
    elif spec.backend == "limit":
        from bench.backends.limit_protocols import evaluate as run
    else:
        from bench.backends.mteb import evaluate as run
    return run(spec, model, data, profile, limit)


def upstream_data_hash(spec: TaskSpec) -> str:
    """sha256 of the documents the engine evaluates for one of its own tasks, loaded as it loads them."""
    with upstream_errors("lm-eval" if spec.backend == "lm_eval" else spec.backend, spec.upstream):
        if spec.backend == "lm_eval":
            from bench.backends.lm_eval import documents_hash
        else:
            from bench.backends.mteb import documents_hash
        return documents_hash(spec.upstream)
