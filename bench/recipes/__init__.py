"""Deterministic builders of task data from offline sources, hashed and cached as JSONL.

A recipe returns {file name: rows}; `build` hashes the rows, so every result names the exact
data it was scored on, and writes them once into the cache for the engines to read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from bench.registry import Registry
from bench.files import write_text_atomic

Rows = list[dict[str, Any]]
RECIPES: Registry[Callable[..., dict[str, Rows]]] = Registry("recipe")


@dataclass(frozen=True)
class TaskData:
    files: dict[str, Path]
    data_hash: str

    def rows(self, name: str) -> Rows:
        with open(self.files[name], encoding="utf-8") as f:
            return [json.loads(line) for line in f]


def _encode(recipe: str, args: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The recipe's tables as JSONL text by file name, and their sha256."""
    tables = RECIPES.get(recipe)(**args)
    encoded = {name: "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows) for name, rows in tables.items()}
    digest = hashlib.sha256()
    for name in sorted(encoded):
        digest.update(name.encode() + b"\0" + encoded[name].encode())
    return encoded, digest.hexdigest()


def build(task: str, recipe: str, args: dict[str, Any], cache: Path) -> TaskData:
    """Build (or find in the cache) the data of a task with an offline recipe."""
    encoded, data_hash = _encode(recipe, args)
    folder = cache / "data" / f"{task}-{data_hash[:12]}"
    files = {}
    for name, text in encoded.items():
        path = folder / f"{name}.jsonl"
        if not path.exists():
            write_text_atomic(path, text)
        files[name] = path
    return TaskData(files=files, data_hash=data_hash)


@lru_cache(maxsize=None)
def current_hash(recipe: str, args_json: str) -> str:
    """The data hash a recipe gives today (args as sorted JSON, to be hashable), without writing anything:
    `bench validate` tells a result scored on older data."""
    return _encode(recipe, json.loads(args_json))[1]


# Importing the recipe modules registers them.
from bench.recipes import facts, limit, wiki  # noqa: E402, F401
