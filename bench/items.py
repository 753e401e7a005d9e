"""Per-item outputs: the file `<task>.items.json` beside each result, from which its main score is recomputed.

Columns, not one object per item: the item ids (stable across dense and compressed runs of the same task
data), the per-item values the main metric aggregates, and short predictions. `aggregation` names how the
columns give the score; an engine that averages per split and subset (mteb) gets a `groups` column, the
score being the mean of the groups' scores, each rounded as the engine rounds it. A multi-seed aggregate
holds one run of columns per seed over the same ids; its score is the mean of the runs' scores.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator
from scipy.stats import spearmanr

from bench import BenchError
from bench.safe_json import check_json, read_capped_text
from bench.files import write_text_atomic
from bench.schema import Strict

Aggregation = Literal["mean", "word_perplexity", "spearman"]
# The value columns each aggregation reads, in the order it reads them.
AGGREGATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "mean": ("value",),  # acc, exact_match, rougeL, ndcg_at_10, recall_at_2 of each item
    "word_perplexity": ("loglikelihood", "words"),  # lm-eval's: exp(-sum(loglikelihood) / sum(words))
    "spearman": ("predicted", "gold"),  # mteb's cosine_spearman: predicted similarity vs (normalised) gold score
}
MAX_ITEMS_BYTES = 16 * 1024 * 1024  # written and read: LIMIT's 1000 queries take ~100 KB a run
PREDICTION_CHARS = 100  # generated text, or top-10 doc ids, beyond this is cut
TOP_DOCS = 10  # retrieved doc ids kept per query


class ItemRun(Strict):
    """One run's columns (one seed's, in a multi-seed aggregate), aligned with the file's ids."""

    seed: int | None = None  # None: a single-seed result
    values: dict[str, list[float]]
    predictions: list[str] | None = None  # None where there is nothing to predict (perplexity, similarity)


class Items(Strict):
    items_version: Literal[1] = 1
    task: str
    main_metric: str
    aggregation: Aggregation
    round_digits: int | None = Field(default=None, ge=0, le=15)  # the engine rounds each group's score (mteb: 5)
    ids: list[str] = Field(min_length=1)
    groups: list[str] | None = None  # e.g. mteb's "split/subset" of each item
    runs: list[ItemRun] = Field(min_length=1)

    @model_validator(mode="after")
    def _columns_line_up(self) -> Items:
        n = len(self.ids)
        if len(set(self.ids)) < n:
            raise ValueError("ids repeat an item")
        if self.groups is not None and len(self.groups) != n:
            raise ValueError(f"groups has {len(self.groups)} entries for {n} ids")
        wanted = set(AGGREGATION_COLUMNS[self.aggregation])
        for i, run in enumerate(self.runs):
            if set(run.values) != wanted:
                raise ValueError(f"runs.{i}.values: {self.aggregation} needs columns {sorted(wanted)}, "
                                 f"not {sorted(run.values)}")
            lengths = {name: len(column) for name, column in run.values.items()}
            if run.predictions is not None:
                lengths["predictions"] = len(run.predictions)
            wrong = {name: length for name, length in lengths.items() if length != n}
            if wrong:
                raise ValueError(f"runs.{i}: columns {wrong} do not have one entry per id ({n})")
        if len({run.seed for run in self.runs}) < len(self.runs):
            raise ValueError("runs repeat a seed")
        return self

    def column(self, run: int, name: str) -> np.ndarray:
        return np.asarray(self.runs[run].values[name], dtype=np.float64)


ITEMS_SUFFIX = ".items.json"


def items_file_name(task: str) -> str:
    return task + ITEMS_SUFFIX


def short(text: str) -> str:
    return text[:PREDICTION_CHARS]


def aggregate(aggregation: str, columns: list[np.ndarray]) -> float:
    """The score of one set of items (the same items drawn in the same order from every column)."""
    if aggregation == "mean":  # summed in order, as lm-eval and mteb sum (np.mean sums pairwise)
        return sum(columns[0].tolist()) / len(columns[0])
    if aggregation == "word_perplexity":
        loglikelihood, words = columns
        if not words.sum() > 0:
            return math.nan
        try:
            return math.exp(-loglikelihood.sum() / words.sum())
        except OverflowError:  # hand-made columns can ask for more than a float holds
            return math.inf
    predicted, gold = columns
    return float(spearmanr(gold, predicted)[0])


def score_of(items: Items, indices: np.ndarray | None = None, run: int | None = None) -> float:
    """The main score over the items at `indices` (all by default): per run, the mean over groups of each
    group's aggregate (rounded as the engine rounds it); then the mean over runs (all, or the one `run`)."""
    every = slice(None) if indices is None else indices  # all items: a view, not a copy
    groups = np.asarray(items.groups, dtype=object)[every] if items.groups else None
    scores = []
    for r in range(len(items.runs)) if run is None else [run]:
        columns = [items.column(r, name)[every] for name in AGGREGATION_COLUMNS[items.aggregation]]
        masks = [groups == g for g in dict.fromkeys(groups)] if groups is not None else [slice(None)]
        group_scores = [aggregate(items.aggregation, [c[mask] for c in columns]) for mask in masks]
        if items.round_digits is not None:
            group_scores = [round(s, items.round_digits) for s in group_scores]
        scores.append(_mean(group_scores))
    return _mean(scores)


def _mean(values: list[float]) -> float:
    """np.mean's value; one value is its own mean (validating 10,000 files asks that 20,000 times)."""
    return float(values[0]) if len(values) == 1 else float(np.mean(values))


def dumps(items: Items) -> str:
    """Compact JSON (floats written exactly, as repr), at most MAX_ITEMS_BYTES."""
    text = json.dumps(items.model_dump(mode="json"), separators=(",", ":")) + "\n"
    if len(text.encode()) > MAX_ITEMS_BYTES:
        raise BenchError(f"{items.task}: {len(items.ids)} items take {len(text.encode())} bytes, over the "
                         f"{MAX_ITEMS_BYTES}-byte cap of an items file; score fewer with --limit")
    return text


def save_items(items: Items, path: Path) -> str:
    """Write atomically (0644); returns the sha256 of the bytes written."""
    text = dumps(items)
    write_text_atomic(path, text)
    return hashlib.sha256(text.encode()).hexdigest()


def read_items(path: Path | str) -> tuple[Items, str]:
    """An items file read as hostile input (bench.safe_json caps, duplicate keys, no NaN), validated
    strictly; and the sha256 of its bytes. Raises ValueError (UnsafeFile or pydantic's ValidationError)."""
    text = read_capped_text(path, MAX_ITEMS_BYTES)
    check_json(text)
    return Items.model_validate_json(text, strict=True), hashlib.sha256(text.encode()).hexdigest()


def merge_seeds(per_seed: dict[int, Items]) -> Items:
    """One file for a multi-seed aggregate: every seed's run over the same ids."""
    first = per_seed[min(per_seed)]
    for seed, items in per_seed.items():
        if items.ids != first.ids or items.groups != first.groups:
            raise BenchError(f"{first.task}: seed {seed} scored other items than seed {min(per_seed)}")
    runs = [run.model_copy(update={"seed": seed}) for seed, items in sorted(per_seed.items()) for run in items.runs]
    return first.model_copy(update={"runs": runs})
