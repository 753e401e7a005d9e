"""Where calibration text comes from: offline sources built from installed packages, or a hub dataset.

Offline, none of them holds text a task evaluates on: `news` (gensim's Lee background corpus), `wiki`
(Wikipedia articles of gensim's excerpts), `pydoc` (Python's own help topics) and `mix` (an equal share
of windows from each). Which articles and topics the tasks evaluate on is read off the tasks' own data,
never listed by hand: one is left out when it shares a run of words with any offline task's data.
Any other name is a hub dataset (`c4`, `wikitext2`, or `org/name[:config]`), loaded online only.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator, Union

from bench import BenchError, corpora
from bench.hashing import documents_hash
from bench.registry import Registry, UnknownNameError

Documents = tuple[str, ...]
# A run of this many words in common with a task's data makes a document one the tasks evaluate on:
# long enough that common phrases do not count, short enough to catch a quoted sentence or a paraphrase
# the Python manual repeats from topic to topic.
SHARED_WORDS = 8


@dataclass(frozen=True)
class Part:
    """One text that windows are drawn from; a mix has one per offline source."""

    name: str
    documents: Documents


@dataclass(frozen=True)
class OfflineSource:
    name: str
    origin: str  # what the text is, for the result record
    unit: str  # what one document is
    documents: Callable[[], Documents]
    online = False

    def describe(self) -> str:
        return f"bench:{self.name} ({self.origin}, {len(self.documents())} {self.unit} no task uses)"

    def parts(self, need_chars: int, seed: int) -> list[Part]:
        return [Part(self.name, self.documents())]


@dataclass(frozen=True)
class MixSource:
    name: str
    members: tuple[str, ...]
    online = False

    def describe(self) -> str:
        return f"bench:{self.name} (an equal share of windows from {', '.join(self.members)})"

    def parts(self, need_chars: int, seed: int) -> list[Part]:
        return [part for member in self.members for part in SOURCES.get(member).parts(need_chars, seed)]


@dataclass(frozen=True)
class HubSource:
    name: str  # as the user gave it: the slug names it
    path: str  # dataset id on the hub
    config: str | None = None
    data_file: str | None = None  # one file of the dataset, as the papers load C4's first shard
    split: str = "train"
    online = True

    def describe(self) -> str:
        detail = " ".join(filter(None, [self.config, self.data_file]))
        return f"hub:{self.path} ({detail + ', ' if detail else ''}{self.split} split, a seeded run of rows)"

    def parts(self, need_chars: int, seed: int) -> list[Part]:
        """A run of rows from a seeded random start (wrapping around), until the text holds `need_chars`:
        consecutive rows keep WikiText's articles whole, and C4's rows are independent documents."""
        rows = self._load()
        if "text" not in rows.column_names or not len(rows):
            raise BenchError(f"calibration dataset {self.path!r} has no 'text' column or no rows "
                             f"(columns: {', '.join(rows.column_names)}; {len(rows)} rows)")
        start = random.Random(seed).randrange(len(rows))
        documents, total = [], 0
        for i in range(len(rows)):
            text = rows[(start + i) % len(rows)]["text"]
            if text.strip():
                documents.append(text)
                total += len(text)
            if total >= need_chars:
                break
        return [Part(self.name, tuple(documents))]

    def _load(self) -> Any:
        import datasets

        files = {self.split: self.data_file} if self.data_file else None
        try:
            return datasets.load_dataset(self.path, self.config, data_files=files, split=self.split)
        except Exception as err:  # the datasets library raises many kinds; the user needs one line
            first_line = (str(err).splitlines() or [""])[0]
            raise BenchError(f"cannot load calibration dataset {self.path!r}: {type(err).__name__}: "
                             f"{first_line}") from None


Source = Union[OfflineSource, MixSource, HubSource]
SOURCES: Registry[Source] = Registry("calibration source")


@lru_cache(maxsize=1)
def evaluated_texts() -> tuple[str, ...]:
    """Every string in every offline task's data (passages, queries, corpora, references, questions)."""
    from bench.recipes import RECIPES
    from bench.taskspec import TASKS

    return tuple(text for _name, spec in TASKS.items() if spec.recipe
                 for rows in RECIPES.get(spec.recipe)(**spec.recipe_args).values() for text in _strings(rows))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def word_runs(text: str) -> Iterator[tuple[str, ...]]:
    words = text.split()
    return (tuple(words[i : i + SHARED_WORDS]) for i in range(len(words) - SHARED_WORDS + 1))


def unused(documents: Iterable[str]) -> Documents:
    """The documents (each once, in order) that share no run of SHARED_WORDS words with a task's data."""
    docs = tuple(dict.fromkeys(documents))
    holders: dict[tuple[str, ...], list[int]] = {}
    for i, doc in enumerate(docs):
        for run in word_runs(doc):
            holders.setdefault(run, []).append(i)
    evaluated = {i for text in evaluated_texts() for run in word_runs(text) for i in holders.get(run, ())}
    return tuple(doc for i, doc in enumerate(docs) if i not in evaluated)


@lru_cache(maxsize=1)
def news_documents() -> Documents:
    """Today's default, as it was: a corpus no task draws on (the tests check it, so a default run does
    not build every task's data to prove it)."""
    return tuple(dict.fromkeys(corpora.lee_background()))


@lru_cache(maxsize=1)
def wiki_documents() -> Documents:
    """Articles of both Wikipedia excerpts in gensim's test data (by title, first seen), paragraphs
    joined. The tasks use almost every article of the larger one: the smaller adds four more."""
    by_title: dict[str, str] = {}
    for file in (corpora.WIKI_FILE, corpora.WIKI_TABLES_FILE):
        for title, paragraphs in corpora.wiki_articles(file):
            by_title.setdefault(title, "\n\n".join(paragraphs))
    return unused(by_title.values())


@lru_cache(maxsize=1)
def pydoc_documents() -> Documents:
    """Whole help topics, code and grammar blocks included, as Python documentation reads."""
    return unused(text for _title, text in corpora.python_help_texts())


for _source in [
    OfflineSource("news", "gensim lee_background.cor", "distinct news articles", news_documents),
    OfflineSource("wiki", "gensim's English Wikipedia excerpts", "articles", wiki_documents),
    OfflineSource("pydoc", "Python's pydoc_data help topics", "topics", pydoc_documents),
    MixSource("mix", ("news", "wiki", "pydoc")),
    # The Wanda and SparseGPT references calibrate on the first shard of C4's English training split.
    HubSource("c4", "allenai/c4", data_file="en/c4-train.00000-of-01024.json.gz"),
    HubSource("wikitext2", "Salesforce/wikitext", config="wikitext-2-raw-v1"),
]:
    SOURCES.add(_source.name, _source)

_HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w.-]+)?")


def resolve_source(name: str) -> Source:
    """A known source by name, or `org/name[:config]` as a hub dataset; a typo suggests a known name."""
    if name in SOURCES:
        return SOURCES.get(name)
    if "/" not in name:
        raise UnknownNameError(f"{SOURCES.unknown_message(name)}; or a hub dataset as org/name[:config]")
    if not _HUB_NAME.fullmatch(name):
        raise BenchError(f"calibration source {name!r} is neither a known source nor a hub dataset id "
                         "(org/name[:config])")
    path, _, config = name.partition(":")
    return HubSource(name, path, config=config or None)


def check_source(name: str, will_load: bool = True) -> Source:
    """The source of that name, checked before any model loads: a typo fails, and so does a hub dataset
    that will be loaded while the hub is switched off (one line, at once)."""
    source = resolve_source(name)
    if will_load and source.online and _hub_switched_off():
        offline = ", ".join(known for known, s in SOURCES.items() if not s.online)
        raise BenchError(f"calibration source {source.name!r} is a hub dataset and needs the network "
                         f"(HF_DATASETS_OFFLINE/HF_HUB_OFFLINE is set); offline sources: {offline}")
    return source


@lru_cache(maxsize=16)
def text_hash(name: str, need_chars: int, seed: int) -> str:
    """sha256 of the text source `name` gives calibration windows to be drawn from (a hub dataset: the
    seeded run of rows for `need_chars` characters): a change to a source's text changes the config hash."""
    parts = check_source(name).parts(need_chars, seed)
    return documents_hash({f"{index}:{part.name}": part.documents for index, part in enumerate(parts)})


def _hub_switched_off() -> bool:
    return any(os.environ.get(var, "").upper() in ("1", "ON", "YES", "TRUE")
               for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"))


def slug_part(name: str) -> str:
    """A source's name as it reads in a method slug: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
