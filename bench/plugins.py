"""Methods and tasks from other packages, through Python entry points (read by importlib.metadata):

- group `bench.methods`: a `Method` subclass (a weight method, `--method NAME`), a `Codec` subclass (a vector
  method, `--embed NAME` or `NAME:D` when it has a `dims` field), or a module whose import registers them;
- group `bench.tasks`: a folder (str or Path) of task and suite YAML, as in bench's own `tasks/`, or a `TaskSpec`.

Each group is loaded once, when its registries are first read, so `import bench` imports no plugin.
"""

from __future__ import annotations

import dataclasses
from contextlib import ExitStack
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import BenchError

_loaded: set[str] = set()


def origin_of(entry: EntryPoint) -> str:
    return f"plugin {entry.dist.name}" if entry.dist else f"plugin {entry.value}"


def load_method_plugins() -> None:
    from bench.methods.base import METHODS, Method
    from bench.methods.embed import CODECS
    from bench.methods.embed.codecs import Codec

    for entry, origin, obj in _entries_registering("bench.methods", METHODS, CODECS):
        if isinstance(obj, type) and issubclass(obj, Method):
            if not (obj.name in METHODS and METHODS.get(obj.name) is obj):  # its module may have registered it
                METHODS.add(obj.name, obj, origin)
        elif isinstance(obj, type) and issubclass(obj, Codec):
            CODECS.add(entry.name, _codec_builder(entry.name, obj), origin)
        elif not isinstance(obj, ModuleType):
            raise BenchError(f"bench.methods entry point {entry.name!r} ({origin}) is neither a Method nor a Codec "
                             f"subclass nor a module: {entry.value}")


def load_task_plugins() -> None:
    from bench.taskspec import SUITES, TASKS, TaskSpec, load_folder

    for entry, origin, obj in _entries_registering("bench.tasks", TASKS, SUITES):
        if isinstance(obj, TaskSpec):
            TASKS.add(obj.name, obj, origin)
        elif isinstance(obj, (str, Path)) and Path(obj).is_dir():
            load_folder(Path(obj), origin)
        elif not isinstance(obj, ModuleType):
            raise BenchError(f"bench.tasks entry point {entry.name!r} ({origin}) is neither a folder of task YAML "
                             f"nor a TaskSpec nor a module: {entry.value}")


def _entries_registering(group: str, *registries: Any) -> list[tuple[EntryPoint, str, Any]]:
    """Load a group's entry points; whatever their modules register on import is credited to their package."""
    found = []
    for entry in _group(group):
        origin = origin_of(entry)
        with ExitStack() as stack:
            for registry in registries:
                stack.enter_context(registry.adding_from(origin))
            found.append((entry, origin, _load(group, entry)))
    return found


def _group(group: str) -> list[EntryPoint]:
    if group in _loaded:
        return []
    _loaded.add(group)
    return sorted(entry_points(group=group), key=lambda e: (origin_of(e), e.name))


def _load(group: str, entry: EntryPoint) -> Any:
    try:
        return entry.load()
    except BenchError:
        raise
    except Exception as err:  # noqa: BLE001 - someone else's package: one line, naming it
        raise BenchError(f"{group} entry point {entry.name!r} ({origin_of(entry)}, {entry.value}) failed to "
                         f"load: {type(err).__name__}: {(str(err).splitlines() or [''])[0]}") from None


def _codec_builder(name: str, cls: type) -> tuple[Any, bool]:
    """A registered vector method: `NAME` builds cls(name=NAME); `NAME:D` sets its `dims` field."""
    sized = "dims" in {f.name for f in dataclasses.fields(cls)}
    return (lambda dims: cls(name=name, dims=dims) if sized else cls(name=name)), sized
