"""One generic registry for methods, tasks, suites, profiles and models."""

from __future__ import annotations

import difflib
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

from bench import BenchError

T = TypeVar("T")
BUILT_IN = "built-in"


class UnknownNameError(BenchError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class NameClashError(BenchError, ValueError):
    """Two entries of one name: one line naming where each came from."""


class Registry(Generic[T]):
    """Named entries of one kind, each with its origin (built-in, a plugin package, an include path); a clash
    on registration is an error, a miss suggests names. `loader`, if set, runs once when the registry is
    first read (plugins are imported only when something looks a name up)."""

    def __init__(self, kind: str, loader: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self.loader = loader
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._origin = BUILT_IN  # where entries added now come from

    def add(self, name: str, entry: T, origin: str | None = None) -> T:
        origin = origin or self._origin
        if name in self._entries:
            raise NameClashError(f"{self.kind} {name!r} from {origin} is already registered "
                                 f"(from {self._origins[name]}); rename one of them")
        self._entries[name] = entry
        self._origins[name] = origin
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""
        return lambda entry: self.add(name, entry)

    @contextmanager
    def adding_from(self, origin: str) -> Iterator[None]:
        """Entries added meanwhile (e.g. by a plugin module's own `register` calls) come from `origin`."""
        saved, self._origin = self._origin, origin
        try:
            yield
        finally:
            self._origin = saved

    def origin(self, name: str) -> str:
        self._load()
        return self._origins[name]

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        self._load()
        close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; known: {', '.join(sorted(self._entries))}"

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load()
        return iter(sorted(self._entries))

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return sorted(self._entries.items())

    def _load(self) -> None:
        loader, self.loader = self.loader, None  # once, and not again while it runs
        if loader:
            loader()
