"""Deterministic builders of task data from offline sources, hashed and cached as JSONL.

A recipe returns {file name: rows}; `build` hashes the rows, so every result names the exact
data it was scored on, and writes them once into the cache for the engines to read.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from bench import corpora
from bench.registry import Registry
from bench.schema import write_text_atomic

Rows = list[dict[str, Any]]
RECIPES: Registry[Callable[..., dict[str, Rows]]] = Registry("recipe")


@dataclass(frozen=True)
class TaskData:
    files: dict[str, Path]
    data_hash: str

    def rows(self, name: str) -> Rows:
        with open(self.files[name], encoding="utf-8") as f:
            return [json.loads(line) for line in f]


def build(task: str, recipe: str, args: dict[str, Any], cache: Path) -> TaskData:
    tables = RECIPES.get(recipe)(**args)
    encoded = {name: "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows) for name, rows in tables.items()}
    digest = hashlib.sha256()
    for name in sorted(encoded):
        digest.update(name.encode() + b"\0" + encoded[name].encode())
    data_hash = digest.hexdigest()
    folder = cache / "data" / f"{task}-{data_hash[:12]}"
    files = {}
    for name, text in encoded.items():
        path = folder / f"{name}.jsonl"
        if not path.exists():
            write_text_atomic(path, text)
        files[name] = path
    return TaskData(files=files, data_hash=data_hash)


@RECIPES.register("wiki_passages")
def wiki_passages(n_docs: int, min_chars: int, max_chars: int) -> dict[str, Rows]:
    """One passage per Wikipedia article: whole sentences from its start, min..max characters."""
    rows = []
    for title, paragraphs in corpora.wiki_articles():
        text = ""
        for sentence in (s for p in paragraphs for s in corpora.sentences(p)):
            if len(text) + len(sentence) + 1 > max_chars:
                break
            text = f"{text} {sentence}".strip()
        if len(text) >= min_chars:
            rows.append({"title": title, "text": text})
        if len(rows) == n_docs:
            break
    return {"test": rows}


@RECIPES.register("capitals_choice")
def capitals_choice(n_choices: int, seed: int) -> dict[str, Rows]:
    """Country -> capital, with distractors drawn from the other countries' capitals."""
    rng = random.Random(seed)
    pairs = corpora.country_capitals()
    capitals = sorted({capital for _, capital in pairs})
    rows = []
    for country, capital in pairs:
        choices = rng.sample([c for c in capitals if c != capital], n_choices - 1) + [capital]
        rng.shuffle(choices)
        rows.append({"country": country, "choices": choices, "label": choices.index(capital)})
    return {"test": rows}


@RECIPES.register("wiki_sentence_retrieval")
def wiki_sentence_retrieval(lead_chars: int, queries_per_article: int, seed: int) -> dict[str, Rows]:
    """Find the article a sentence comes from: the corpus holds each article's lead, the queries
    are sentences from the rest of the article (never from the lead itself)."""
    rng = random.Random(seed)
    corpus, queries, qrels = [], [], []
    for title, paragraphs in corpora.wiki_articles():
        lead, rest = [], []
        for paragraph in paragraphs:
            (lead if sum(map(len, lead)) < lead_chars else rest).append(paragraph)
        candidates = [s for p in rest for s in corpora.sentences(p) if 60 <= len(s) <= 300]
        if len(candidates) < queries_per_article:
            continue
        corpus.append({"id": title, "title": "", "text": " ".join(lead)[: lead_chars * 2]})
        for i, sentence in enumerate(rng.sample(candidates, queries_per_article)):
            queries.append({"id": f"{title}#{i}", "text": sentence})
            qrels.append({"query_id": f"{title}#{i}", "doc_id": title, "score": 1})
    return {"corpus": corpus, "queries": queries, "qrels": qrels}
