"""Tasks and suites as data: YAML files in bench/tasks, validated, with lm-eval-style `include:`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bench.registry import Registry
from bench.schema import ModelKind

TASKS_DIR = Path(__file__).parent / "tasks"


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    backend: Literal["lm_eval", "mteb"]
    model_kind: ModelKind
    version: int  # bump when the recipe, prompt or metric changes: results are not comparable across it
    recipe: str  # offline data builder in bench.recipes
    recipe_args: dict[str, Any] = Field(default_factory=dict)
    main_metric: str
    higher_is_better: bool
    metrics: list[str]  # reported metrics, main included
    engine: dict[str, Any] = Field(default_factory=dict)  # passed to the engine as the task config
    max_length: int | None = None  # lm_eval: the model's context window for scoring


class SuiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    tasks: list[str]


TASKS: Registry[TaskSpec] = Registry("task")
SUITES: Registry[SuiteSpec] = Registry("suite")


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; `include: other.yaml` (relative) supplies defaults it overrides."""
    data = yaml.safe_load(path.read_text()) or {}
    include = data.pop("include", None)
    if include is None:
        return data
    return {**load_yaml(path.parent / include), **data}


def load_builtin() -> None:
    for path in sorted(TASKS_DIR.glob("*.yaml")):
        if path.name.startswith("_"):
            continue  # shared defaults, only read through `include:`
        data = load_yaml(path)
        if "suites" in data:
            for name, suite in data["suites"].items():
                SUITES.add(name, SuiteSpec(name=name, **suite))
        else:
            spec = TaskSpec(**data)
            TASKS.add(spec.name, spec)
    for suite_name, suite in SUITES.items():
        for task in suite.tasks:
            TASKS.get(task)  # a suite naming a missing task is a packaging bug: fail at import


load_builtin()


def resolve_tasks(suite: str | None, tasks: list[str] | None) -> list[TaskSpec]:
    names = tasks if tasks else SUITES.get(suite or "smoke").tasks
    return [TASKS.get(name) for name in names]
