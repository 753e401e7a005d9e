"""The protocols of the `limit` backend, chosen by a task's `engine.protocol`: bench's warm-started search
(`best_found`, the default), the LIMIT paper's own optimisation protocol (`paper`) and the explicit
construction checked in storage formats (`construction`)."""

from __future__ import annotations

import importlib

from bench.assets import LoadedModel
from bench.backends import TaskOutcome
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.registry import Registry
from bench.taskspec import TaskSpec

# Protocol name -> the module whose `evaluate` runs it (imported on use: each pulls torch).
PROTOCOLS: Registry[str] = Registry("free-embedding protocol")
PROTOCOLS.add("best_found", "bench.backends.limit")
PROTOCOLS.add("paper", "bench.backends.limit_paper")
PROTOCOLS.add("construction", "bench.backends.limit_construction")


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    module = importlib.import_module(PROTOCOLS.get(spec.engine.get("protocol", "best_found")))
    return module.evaluate(spec, model, data, profile, limit)
