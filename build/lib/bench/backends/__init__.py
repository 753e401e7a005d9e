"""Evaluation engines: lm-eval for LLM tasks, mteb for retrieval and embedding tasks, and torch for
LIMIT's free-embedding experiment."""

from __future__ import annotations

from dataclasses import dataclass

from bench.assets import LoadedModel
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.taskspec import TaskSpec


@dataclass
class TaskOutcome:
    metrics: dict[str, float]  # the spec's metrics, as the engine computed them
    n_items: int
    engine_version: str


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    if spec.backend == "lm_eval":
        from bench.backends.lm_eval import evaluate as run
    elif spec.backend == "limit":
        from bench.backends.limit import evaluate as run
    else:
        from bench.backends.mteb import evaluate as run
    return run(spec, model, data, profile, limit)
