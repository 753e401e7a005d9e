"""Tasks and suites as data: YAML files in the top-level tasks/ folder, validated, with lm-eval-style `include:`."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bench import BenchError
from bench.plugins import load_task_plugins
from bench.registry import BUILT_IN, Registry, UnknownNameError
from bench.resources import resource_dir
from bench.schema import Backend, ModelKind

TASKS_DIR = resource_dir("tasks")


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    backend: Backend
    model_kind: ModelKind
    version: int  # bump when the recipe, prompt or metric changes: results are not comparable across it
    recipe: str | None = None  # offline data builder in bench.recipes
    upstream: str | None = None  # or an engine's own task name, with the engine's data (needs the network)
    recipe_args: dict[str, Any] = Field(default_factory=dict)
    main_metric: str
    # lm_eval keys scores "metric,filter": the filter of the main metric (e.g. remove_whitespace);
    # None: the first filter lm-eval reports for it ("none" for a task without a filter_list)
    main_filter: str | None = None
    higher_is_better: bool
    metrics: list[str]  # reported metrics, main included (lm_eval: each under every filter it applies)
    engine: dict[str, Any] = Field(default_factory=dict)  # passed to the engine as the task config
    max_length: int | None = None  # lm_eval: the model's context window for scoring


    @property
    def is_retrieval(self) -> bool:
        """An mteb retrieval task (the default mteb type): its embeddings can be compressed as an index."""
        return self.backend == "mteb" and self.engine.get("type", "Retrieval") == "Retrieval"

    @model_validator(mode="after")
    def _has_data(self) -> "TaskSpec":
        if (self.recipe is None) == (self.upstream is None):
            raise ValueError(f"task {self.name!r} needs exactly one of recipe (offline data) and upstream")
        return self


class SuiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    tasks: list[str] = Field(default_factory=list)  # ours, checked when bench is imported
    upstream: list[str] = Field(default_factory=list)  # lm-eval task names, run with lm-eval's own data


TASKS: Registry[TaskSpec] = Registry("task")
SUITES: Registry[SuiteSpec] = Registry("suite")


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping; `include: other.yaml` (relative) supplies defaults it overrides,
    nested mappings key by key."""
    data = yaml.safe_load(path.read_text()) or {}
    include = data.pop("include", None)
    return _merge(load_yaml(path.parent / include), data) if include else data


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        both_dicts = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merge(base[key], value) if both_dicts else value
    return merged


def load_folder(folder: Path, origin: str = BUILT_IN) -> None:
    """Register every task and suite in a folder of YAML (files named `_*` are only read through `include:`)."""
    added = []
    with TASKS.adding_from(origin), SUITES.adding_from(origin):
        for path in sorted(Path(folder).glob("*.yaml")):
            if path.name.startswith("_"):
                continue
            try:
                data = load_yaml(path)
                if "suites" in data:
                    for name, suite in data["suites"].items():
                        added.append(SUITES.add(name, SuiteSpec(name=name, **suite)))
                else:
                    spec = TaskSpec(**data)
                    TASKS.add(spec.name, spec)
            except (ValidationError, TypeError, yaml.YAMLError) as err:
                raise BenchError(f"{path} ({origin}): not a valid task or suite: {_first_line(err)}") from None
    for suite in added:
        for task in suite.tasks:
            TASKS.get(task)  # a suite naming a missing task: fail when it is loaded


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return (str(err).splitlines() or [""])[0]


_included: set[Path] = set()


def load_include_paths(paths: Iterable[str | Path]) -> None:
    """Add the tasks and suites of each folder (`--include-path`), once per folder."""
    for path in paths:
        folder = Path(path).resolve()
        if folder not in _included:
            if not folder.is_dir():
                raise BenchError(f"--include-path {path}: not a folder")
            _included.add(folder)
            load_folder(folder, f"include path {path}")


load_folder(TASKS_DIR)
TASKS.loader = SUITES.loader = load_task_plugins  # other packages' tasks, when a name is first looked up


def resolve_tasks(suite: str | None, tasks: list[str] | None) -> list[TaskSpec]:
    """Our tasks by name (a suite, or a list), or any task lm-eval knows (`mmlu`, `triviaqa`)."""
    if suite and tasks:  # one would silently win: say so instead
        raise BenchError(f"give --suite or --tasks, not both (suite {suite!r} lists "
                         f"{', '.join(SUITES.get(suite).tasks) or 'no task of ours'}: add them to --tasks)")
    if not tasks:
        chosen = SUITES.get(suite or "smoke")
        return [TASKS.get(name) for name in chosen.tasks] + [_upstream_task(name) for name in chosen.upstream]
    return [TASKS.get(name) if name in TASKS else _upstream_task(name) for name in tasks]


def _upstream_task(name: str) -> TaskSpec:
    if difflib.get_close_matches(name, list(TASKS), n=1, cutoff=0.85):
        raise UnknownNameError(TASKS.unknown_message(name))  # a typo of ours: say so without indexing lm-eval
    mteb_task, mteb_hint = _mteb_task(name)
    if mteb_task is not None:
        meta = mteb_task.metadata
        return TaskSpec(name=name, description=f"mteb's {name} with its upstream data", backend="mteb",
                        model_kind="encoder", version=0, upstream=name, main_metric=meta.main_score,
                        higher_is_better=True, metrics=[meta.main_score], engine={"type": meta.type})
    index = _lm_eval_task_index()
    entry = index.get(name)
    if entry is None:
        close = difflib.get_close_matches(name, list(index), n=1, cutoff=0.8) or mteb_hint
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownNameError(f"unknown task {name!r}{hint}: not one of bench's ({', '.join(TASKS)}) "
                               "nor an mteb or lm-eval task")
    config = entry.cfg or {}
    metrics = config.get("metric_list") or config.get("aggregate_metric_list") or []
    if not metrics:
        raise BenchError(f"lm-eval task {name!r} declares no metric for bench to report")
    return TaskSpec(name=name, description=f"lm-eval's {name} with its upstream data", backend="lm_eval",
                    model_kind="causal-lm", version=int(float((config.get("metadata") or {}).get("version", 0))),
                    upstream=name, main_metric=metrics[0]["metric"], main_filter=_single_filter(config, metrics[0]),
                    higher_is_better=metrics[0].get("higher_is_better", True),
                    metrics=[m["metric"] for m in metrics])


def _single_filter(config: dict[str, Any], main: dict[str, Any]) -> str | None:
    """The filter of an lm-eval task's main metric when its config names exactly one: a task's
    `filter_list`, or a group's aggregated metric's own `filter_list` (a name or a list of names)."""
    if config.get("filter_list"):
        names = [f["name"] for f in config["filter_list"]]
    else:
        declared = main.get("filter_list") or []
        names = [declared] if isinstance(declared, str) else list(declared)
    return names[0] if len(names) == 1 else None


def _mteb_task(name: str) -> tuple[Any, list[str]]:
    """mteb's task of that name, or None and mteb's own suggestions."""
    import mteb

    try:
        return mteb.get_task(name), []
    except KeyError as err:
        return None, re.findall(r"Did you mean: '([^']+)'", str(err))


@lru_cache(maxsize=1)
def _lm_eval_task_index() -> dict[str, Any]:
    from lm_eval.tasks import TaskManager

    return TaskManager().task_index
