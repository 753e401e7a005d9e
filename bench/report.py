"""Results as a table: one row per (model, method, profile, task), with the dense parent's score."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pandas as pd
from bench.limit_points import PRECISION_ORDER
from bench.measurements import busy
from bench.schema import RunResult
from bench.validate import check_root

if TYPE_CHECKING:
    from bench.runner import Pair

# What a variant stores: weight facts (bits per weight over the whole model and over the compressed
# layers alone) and, for embedding variants, the bytes of one stored vector.
FACT_COLUMNS = ["sparsity", "model_bits_per_weight", "layer_bits_per_weight", "bytes_per_vector"]
COLUMNS = ["task", "metric", "model", "method", "profile", "score", "dense", "retained_pct", *FACT_COLUMNS, "n_items"]
FACT_FORMATS = {"sparsity": "{:.3f}", "model_bits_per_weight": "{:.2f}", "layer_bits_per_weight": "{:.2f}",
                "bytes_per_vector": "{:g}"}
# A multi-seed result's spread: the sample std of its seeds' retained %, shown as "54.2% ± 1.3"; in a
# suite view, the column of task T's spreads is T + SPREAD_SUFFIX.
SPREAD_SUFFIX = "_std"
# Beside retained %: a multi-seed result's spread, and the paired bootstrap interval over the items.
EXTRA_RETAINED = ["retained_std", "retained_low", "retained_high"]
# The dense parent is the fp16 baseline every storage format is measured against.
# What else a row of `load_table` carries: the result file's path relative to the submissions root among them.
ROW_EXTRAS = ["score_low", "score_high", "model_notes", "limited", "metrics", "calibration", "model_bytes", "index_bytes", "query_ms",
              "query_ms_p99", "eval_seconds", "measured_speedup", "prefill_tps", "decode_tps", "docs_per_s",
              "peak_memory_mb", "kernel", "forced", "busy", "method_name", "method_params", "items_file", "ceilings", "path"]
DENSE_BASELINE = {"sparsity": 0.0, "model_bits_per_weight": 16.0, "layer_bits_per_weight": 16.0}


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def weight_facts(result: RunResult) -> dict[str, float | None]:
    """Sparsity and bits per weight of a row. Rows that compressed no weights show none: a vector
    variant of the dense weights, a checkpoint whose packed kernels bench cannot read, a reference
    without weights (BM25, free embeddings)."""
    facts = result.compression
    if facts:
        return {"sparsity": facts.sparsity, "model_bits_per_weight": facts.model_bits_per_weight,
                "layer_bits_per_weight": facts.bits_per_weight}
    float_vectors = result.vectors is None or result.vectors.codec == "float"
    if result.method.name == "dense" and float_vectors and result.model.n_params > 0:
        return DENSE_BASELINE
    return dict.fromkeys(DENSE_BASELINE)


def _percent(fraction: float | None) -> float | None:
    """100 x fraction, or None where that is not a finite number (a tiny dense score)."""
    return 100 * fraction if fraction is not None and math.isfinite(100 * fraction) else None


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
        "retained_pct": (_percent(retained) if retained is not None
                         else 100.0 if result.method.name == "dense" else None),
        "retained_std": _percent(result.retained_std),
        "retained_low": _percent(result.retained_interval.low) if result.retained_interval else None,
        "retained_high": _percent(result.retained_interval.high) if result.retained_interval else None,
        **weight_facts(result),
        "bytes_per_vector": result.vectors.bytes_per_vector if result.vectors else None,
        "n_items": result.task.n_items,
        "model_notes": result.model.notes,
        "limited": result.task.limit is not None,
        "metrics": result.metrics,
        "calibration": calibration_label(result),
        "score_low": result.score_interval.low if result.score_interval else None,
        "score_high": result.score_interval.high if result.score_interval else None,
        **efficiency_facts(result),
        "method_name": result.method.name,
        "method_params": result.method.params,
        "items_file": result.items.file if result.items else None,
        "ceilings": [point.model_dump() for point in result.ceilings],
    }


def efficiency_facts(result: RunResult) -> dict[str, float | None]:
    """What a result measured about its cost: the whole model's bytes (compressed layers in their format),
    the vector index's bytes and one query's latency, and the evaluation's wall time on its profile."""
    m = result.measurements
    speedup = m and (m.decode_speedup or m.documents_speedup)
    rate = (lambda name: getattr(m.speeds, name).median if getattr(m.speeds, name) else None) if m else lambda _: None
    return {"model_bytes": result.compression.model_bytes if result.compression else None,
            "index_bytes": result.vectors.index_bytes if result.vectors else None,
            "query_ms": result.vectors.query_latency_ms_p50 if result.vectors else None,
            "query_ms_p99": result.vectors.query_latency_ms_p99 if result.vectors else None,
            "eval_seconds": result.efficiency.eval_seconds,
            # measured on the profile's workload (bench.measure): decode (LLM) or documents/s (encoder) over the
            # dense parent's, the rates themselves, the evaluation's peak memory and the kernel timed
            "measured_speedup": speedup.median if speedup else None, "prefill_tps": rate("prefill_tokens_per_s"),
            "decode_tps": rate("decode_tokens_per_s"), "docs_per_s": rate("documents_per_s"),
            "peak_memory_mb": m.peak_memory_bytes / 2**20 if m else None, "kernel": m.kernel if m else None,
            # markers as the tables show them (blank: nothing to say)
            "forced": "forced" if result.machine_check and result.machine_check.forced else "",
            "busy": "busy" if busy(m, result.hardware.cpu_count) else ""}


def calibration_label(result: RunResult) -> str | None:
    """Like "wiki 16x512 seed0": the calibration source's short name, size and seed, or seeds for a
    multi-seed aggregate (None for data-free methods)."""
    record = result.calibration
    if record is None:
        return None
    source = record.source.split(" (", 1)[0].removeprefix("bench:")
    seeds = "seeds" + "-".join(str(run.seed) for run in result.seed_runs) if result.seed_runs else f"seed{record.seed}"
    return f"{source} {record.samples}x{record.seqlen} {seeds}"


def load_table(submissions: Path, warn: Callable[[str], None] = _to_stderr) -> pd.DataFrame:
    """Every result under `submissions` that `bench validate` accepts; each file it rejects is named in
    one line through `warn` and skipped, so one bad file cannot take the table (or the site) down."""
    checked = check_root(submissions)
    for rel in checked.invalid:
        first = next(f for f in checked.findings if f.path == rel)
        warn(f"skipped {first.line(checked.root)} (`bench validate` lists every problem)")
    rows = [{**result_row(result), "path": rel} for rel, result in checked.results.items()]
    table = pd.DataFrame(rows, columns=COLUMNS + [*EXTRA_RETAINED, *ROW_EXTRAS])
    return table.sort_values(["task", "model", "profile", "retained_pct"], ascending=[True, True, True, False],
                             ignore_index=True)


def _missing(value: float | None) -> bool:
    return value is None or pd.isna(value)


def with_spread(value: float | None, spread: float | None, unit: str = "", low: float | None = None,
                high: float | None = None) -> str:
    """Like "54.2% [51.0, 57.3] ± 1.3": a retained %, its paired bootstrap interval over the items and, for a
    multi-seed result, the std of its seeds' retained %."""
    if _missing(value):
        return ""
    interval = "" if _missing(low) or _missing(high) else f" [{low:.1f}, {high:.1f}]"
    return f"{value:.1f}{unit}{interval}" + ("" if _missing(spread) else f" ± {spread:.1f}")


def format_table(table: pd.DataFrame) -> str:
    shown = table[COLUMNS].copy()
    extra = [table[c] if c in table else [None] * len(table) for c in EXTRA_RETAINED]
    shown["retained_pct"] = [with_spread(v, s, "%", low, high)
                             for v, s, low, high in zip(shown["retained_pct"], *extra)]
    for column, form in FACT_FORMATS.items():
        shown[column] = shown[column].map(lambda v, form=form: "" if pd.isna(v) else form.format(v))
    for column in ("score", "dense"):
        shown[column] = shown[column].map(lambda v: f"{v:.4g}")
    return shown.to_string(index=False)


def format_pairs(pairs: list[Pair]) -> str:
    """The run summary: task, dense score, compressed score, retained %."""
    return format_table(pd.DataFrame([result_row(p.compressed) for p in pairs], columns=COLUMNS + EXTRA_RETAINED))


def suite_view(table: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """Retained % per compressed variant (rows) and task of a suite (columns). With both closed- and
    open-book QA present, adds LLM-KICK's contrast: the open - closed gap, in points. Then each task's
    spread column where a multi-seed variant has one, and the fact columns that any variant has (bytes
    per vector only with embedding variants)."""
    rows = table[table["task"].isin(tasks) & (table["method"] != "dense")]
    if rows.empty:
        return pd.DataFrame()
    view = rows.pivot_table(index=["model", "method", "profile"], columns="task", values="retained_pct",
                            aggfunc="first")
    view = view[[t for t in tasks if t in view.columns]]
    if {"kick_closed_qa", "kick_open_qa"} <= set(view.columns):
        view["open_minus_closed"] = view["kick_open_qa"] - view["kick_closed_qa"]
    if "retained_std" in rows and rows["retained_std"].notna().any():  # pivot_table drops tasks without one
        spreads = rows.pivot_table(index=["model", "method", "profile"], columns="task", values="retained_std",
                                   aggfunc="first")
        view = view.join(spreads[[t for t in tasks if t in spreads.columns]].add_suffix(SPREAD_SUFFIX))
    facts = rows.groupby(["model", "method", "profile"])[FACT_COLUMNS].first().dropna(axis=1, how="all")
    return view.join(facts).reset_index().sort_values(["model", "profile", "method"], ignore_index=True)


def calibration_view(table: pd.DataFrame) -> pd.DataFrame:
    """Retained % per method setting and calibration (source and size) of every model that has a
    calibrated variant, data-free variants (RTN, magnitude) beside them as references; one column per
    task. Empty unless some setting was calibrated two ways: only then does the view compare anything."""
    rows = table[(table["method"] != "dense")] if len(table) else table
    calibrated = rows[rows["calibration"].notna()] if len(rows) else rows
    if calibrated.empty:
        return pd.DataFrame()
    rows = rows[rows["model"].isin(calibrated["model"])].assign(
        setting=lambda r: r["method"].str.split("-calib").str[0], calibration=lambda r: r["calibration"].fillna("-"))
    if not (rows[rows["calibration"] != "-"].groupby(["model", "setting"])["calibration"].nunique() > 1).any():
        return pd.DataFrame()
    view = rows.pivot_table(index=["model", "profile", "setting", "calibration"], columns="task",
                            values="retained_pct", aggfunc="first")
    return view.reset_index().sort_values(["model", "profile", "setting", "calibration"], ignore_index=True)


def format_view(view: pd.DataFrame) -> str:
    shown = view.drop(columns=[c for c in view.columns if c.endswith(SPREAD_SUFFIX)])
    for column in shown.columns:
        if column + SPREAD_SUFFIX in view:
            shown[column] = [with_spread(v, s) for v, s in zip(view[column], view[column + SPREAD_SUFFIX])]
        elif column not in ("model", "method", "profile"):
            form = FACT_FORMATS.get(column, "{:.1f}")
            shown[column] = shown[column].map(lambda v, form=form: "" if pd.isna(v) else form.format(v))
    return shown.to_string(index=False)


FREE_EMBEDDING = "limit_free_embedding"
# The free-embedding result's metrics, per dimension d (up to 4 digits: a submitted name is untrusted).
_CRITICAL_N = re.compile(r"critical_n_d(\d{1,4})(?:_(\w+))?")
_SECONDS = re.compile(r"seconds_d(\d{1,4})(?:_\w+)?")
_FIT = re.compile(r"fit_d(\d{1,4})")


def _free_embedding_metrics(table: pd.DataFrame) -> dict[str, float]:
    """The metrics of the latest free-embedding result ({} without one)."""
    rows = table[table["task"] == FREE_EMBEDDING] if len(table) else table
    return {} if rows.empty else rows.iloc[-1]["metrics"]


def ceiling_view(table: pd.DataFrame) -> pd.DataFrame:
    """LIMIT's free-embedding table, one row per dimension d: the critical n of free vectors and of
    each constraint, and the search's seconds (all constraints). From the latest such result; empty when
    it holds no critical n (seconds of a dimension without one have nothing to sit beside)."""
    metrics = _free_embedding_metrics(table)
    view: dict[int, dict[str, float]] = {}
    for name, value in metrics.items():
        if match := _CRITICAL_N.fullmatch(name):
            view.setdefault(int(match[1]), {})[match[2] or "float"] = value
    for name, value in metrics.items():
        if (match := _SECONDS.fullmatch(name)) and int(match[1]) in view:
            view[int(match[1])]["seconds"] = view[int(match[1])].get("seconds", 0) + value
    if not view:
        return pd.DataFrame()
    frame = pd.DataFrame([{"d": d, **view[d]} for d in sorted(view)])
    return frame[[c for c in frame.columns if c != "seconds"] + (["seconds"] if "seconds" in frame else [])]


def fitted_curve(table: pd.DataFrame) -> str:
    """The polynomial fit of the latest free-embedding result, as a formula in d ("" without one)."""
    terms = [(int(match[1]), value) for name, value in _free_embedding_metrics(table).items()
             if (match := _FIT.fullmatch(name))]
    if not terms:
        return ""
    return "n = " + " + ".join(f"{value:.4g}" + (f" d^{power}" if power else "") for power, value in sorted(terms))


def ceiling_points(table: pd.DataFrame) -> pd.DataFrame:
    """Every LIMIT ceiling point (`RunResult.ceilings`: every protocol's) of the table's results, one
    row each with its task, by protocol, k, d and precision (most bits first); a point that several results
    repeat (other profiles) once, the last. Empty without any."""
    if table.empty or "ceilings" not in table:
        return pd.DataFrame()
    rows = [{**point, "task": task} for task, points in zip(table["task"], table["ceilings"])
            if isinstance(points, list) for point in points]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).drop_duplicates(["protocol", "precision", "k", "d"], keep="last")
    frame["rank"] = frame["precision"].map(PRECISION_ORDER.index)
    return frame.sort_values(["protocol", "k", "d", "rank"]).drop(columns="rank").reset_index(drop=True)
