"""What `bench validate` checks of a result's provenance: the config hash recomputes from the stored record,
the record agrees with the rest of the file, a task bench owns was scored on its current version and data
(else the file is stale, with the command that replaces it), and no field holds a path of the machine that
wrote it (an absolute path or a `..`)."""

from __future__ import annotations

import json
import re
from operator import attrgetter
from typing import Any, Iterator

from bench import recipes
from bench.run_config import config_hash, rerun_command
from bench.schema import RunResult
from bench.taskspec import TASKS

Problem = tuple[str, str]  # (field, message)

# Fields the config record repeats from the result, by (field in the result, field in the record).
SHARED_FIELDS = [("task.name", "task.name"), ("task.version", "task.version"), ("task.data_hash", "task.data_hash"),
                 ("task.limit", "task.limit"), ("task.backend", "task.backend"), ("model.name", "model.name"),
                 ("model.source", "model.source"), ("model.revision", "model.revision"),
                 ("method.name", "method.name"), ("main_metric", "task.main_metric")]
# An absolute path (POSIX, home-relative or a Windows drive) at the start of a value or of a word in it,
# or a `..` path segment anywhere: a result names files relative to the submissions root only.
MACHINE_PATH = re.compile(r"(?:^|[\s(\"'=,])(?:/|~/|[A-Za-z]:[\\/])[^\s/\\]|(?:^|[\\/])\.\.(?:[\\/]|$)")


def config_problems(result: RunResult) -> list[Problem]:
    """The hash is the record's, and the record describes this result."""
    if config_hash(result.config) != result.config_hash:
        return [("config_hash", "is not the sha256 of the stored config: the record or the hash was edited")]
    problems = [(f"config.{in_config}", f"{attrgetter(in_config)(result.config)!r} is not the result's "
                                        f"{in_result} ({attrgetter(in_result)(result)!r})")
                for in_result, in_config in SHARED_FIELDS
                if attrgetter(in_result)(result) != attrgetter(in_config)(result.config)]
    if result.config.method.params != result.method.params:
        problems.append(("config.method.params", "are not the result's method.params"))
    if (result.calibration is None) != (result.config.calibration is None):
        problems.append(("config.calibration", "a calibrated result records its calibration settings, "
                                               "a data-free one none"))
    return problems


def stale_problems(result: RunResult) -> list[Problem]:
    """A result of one of bench's own tasks scored on an older version or older data than bench's today."""
    spec = TASKS.get(result.task.name) if result.task.name in TASKS else None
    if spec is None or spec.recipe is None:
        return []
    data_hash = recipes.current_hash(spec.recipe, json.dumps(spec.recipe_args, sort_keys=True))
    if result.task.version == spec.version and result.task.data_hash == data_hash:
        return []  # the common case, without building the messages
    command = rerun_command(result.model.name, result.method.name, result.task.name, result.profile)
    found = [("task.version", result.task.version != spec.version,
              f"version {result.task.version}, task {spec.name} is now version {spec.version}"),
             ("task.data_hash", result.task.data_hash != data_hash,
              f"data {result.task.data_hash[:12]}, task {spec.name}'s data is now {data_hash[:12]}")]
    return [(field, f"stale: scored on {what}; re-run it with `{command}` and the method's params")
            for field, differs, what in found if differs]


def _strings(value: Any, here: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield here, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{here}.{key}" if here else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{here}.{index}")


def _suspect_texts(result: RunResult) -> list[str]:
    """Every string of the result (keys too) that could hold a machine path, for the quick pass before
    `_strings` names where: each MACHINE_PATH match holds a '/', a '\\' or a '..', and the `in` tests run
    in C. The strings come from the result's JSON: without a backslash it has no escape, so a '"' only
    opens or closes a string and every other piece between two is one; else from a walk of its dump."""
    text = result.model_dump_json()
    if "\\" not in text:
        return [piece for piece in text.split('"')[1::2] if "/" in piece or ".." in piece]
    found, stack = [], [result.model_dump(mode="json")]
    while stack:
        value = stack.pop()
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, str) and ("/" in item or "\\" in item or ".." in item):
                found.append(item)
            elif isinstance(item, (dict, list)):
                stack.append(item)
    return found


def path_problems(result: RunResult) -> list[Problem]:
    """Every text of the file, free text included, is free of this machine's paths."""
    if not any(MACHINE_PATH.search(text) for text in _suspect_texts(result)):
        return []
    return [(where, "holds an absolute path or a '..': a result names files relative to the submissions "
                    "folder and a local checkpoint as local/<folder>")
            for where, text in _strings(result.model_dump(mode="json")) if MACHINE_PATH.search(text)]


def provenance_problems(result: RunResult) -> list[Problem]:
    return config_problems(result) + stale_problems(result) + path_problems(result)
