"""Results as a table: one row per (model, method, profile, task), with the dense parent's score."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from bench.schema import RunResult, load_result

if TYPE_CHECKING:
    from bench.runner import Pair

COLUMNS = ["task", "metric", "model", "method", "profile", "score", "dense", "retained_pct", "sparsity", "n_items"]


def result_row(result: RunResult) -> dict[str, object]:
    retained = result.retained
    return {
        "task": result.task.name,
        "metric": result.main_metric + ("" if result.higher_is_better else " (lower is better)"),
        "model": result.model.name,
        "method": result.method.slug,
        "profile": result.profile,
        "score": result.main_score,
        "dense": result.dense_reference.main_score if result.dense_reference else result.main_score,
        "retained_pct": 100 * retained if retained is not None else (100.0 if result.method.name == "dense" else None),
        "sparsity": result.compression.sparsity if result.compression else 0.0,
        "n_items": result.task.n_items,
        "model_notes": result.model.notes,
        "limited": result.task.limit is not None,
    }


def load_table(submissions: Path) -> pd.DataFrame:
    rows = [result_row(load_result(path)) for path in sorted(Path(submissions).rglob("*.json"))]
    table = pd.DataFrame(rows, columns=COLUMNS + ["model_notes", "limited"])
    return table.sort_values(["task", "model", "profile", "retained_pct"], ascending=[True, True, True, False],
                             ignore_index=True)


def format_table(table: pd.DataFrame) -> str:
    shown = table[COLUMNS].copy()
    shown["retained_pct"] = shown["retained_pct"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}%")
    shown["sparsity"] = shown["sparsity"].map(lambda v: f"{v:.3f}")
    for column in ("score", "dense"):
        shown[column] = shown[column].map(lambda v: f"{v:.4g}")
    return shown.to_string(index=False)


def format_pairs(pairs: list[Pair]) -> str:
    """The run summary: task, dense score, compressed score, retained %."""
    return format_table(pd.DataFrame([result_row(p.compressed) for p in pairs], columns=COLUMNS))
