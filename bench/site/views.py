"""The site's views of the results table (bench.report.load_table): one row per variant for the index, per
result for a task or family, the Pareto frontier per profile. Plain pandas; no formatting here."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.schema import model_dirname
from bench.site.pareto import pareto_frontier
from bench.taskspec import SUITES

PRUNING = {"magnitude", "wanda", "sparsegpt", "random"}
VARIANT = ["model", "method", "profile"]


def method_kind(name: str, params: dict[str, Any], vectors: bool) -> str:
    """pruning / quantization / joint / low rank / vector (a dense model's stored vectors compressed)."""
    pruned, quantized = name in PRUNING, params.get("bits") is not None
    kind = ("joint" if pruned and quantized else "pruning" if pruned else "quantization" if quantized
            else "low rank" if name == "lowrank" else "dense" if name == "dense" else "other")
    if vectors:
        return "vector" if kind == "dense" else f"{kind} + vector"
    return kind


def setting(params: dict[str, Any]) -> str:
    """The level a reader filters by, like "sparsity 0.5 + 4 bits" ("" for none)."""
    parts = []
    if params.get("sparsity") is not None or params.get("pattern"):
        parts.append(f"sparsity {params.get('pattern') or params['sparsity']}")
    if params.get("bits") is not None:
        parts.append(f"{params['bits']} bits")
    return " + ".join(parts)


def annotate(table: pd.DataFrame) -> pd.DataFrame:
    """The table with each row's family page, method kind and setting, and its measured speed-up: the dense
    parent's evaluation seconds over its own (same model, task and profile)."""
    table = table.copy()
    numeric = ["score", "dense", "retained_pct", "retained_low", "retained_high", "retained_std", "score_low",
               "score_high", "sparsity", "model_bits_per_weight", "layer_bits_per_weight", "bytes_per_vector",
               "model_bytes", "index_bytes", "query_ms", "eval_seconds", "query_ms_p99", "measured_speedup",
               "prefill_tps", "decode_tps", "docs_per_s", "peak_memory_mb"]
    table[numeric] = table[numeric].astype(float)  # None becomes NaN: pandas aggregates floats, not objects
    vectors = table["bytes_per_vector"].notna() & table["method"].str.contains("+", regex=False)
    table["family"] = table["model"].map(model_dirname)
    table["kind"] = [method_kind(n, p or {}, v) for n, p, v in zip(table["method_name"], table["method_params"], vectors)]
    table["setting"] = [setting(p or {}) for p in table["method_params"]]
    dense = table[table["method"] == "dense"].set_index(["model", "task", "profile"])["eval_seconds"]
    dense = dense[~dense.index.duplicated()]
    parent = pd.MultiIndex.from_frame(table[["model", "task", "profile"]]).map(dense.to_dict().get)
    table["speedup"] = pd.to_numeric(pd.Series(parent, index=table.index), errors="coerce") / table["eval_seconds"]
    return table


def suites_with_results(table: pd.DataFrame) -> dict[str, list[str]]:
    """Each suite that has results, with its tasks that do (the catch-all suite `all` left out)."""
    present = set(table["task"])
    return {name: [t for t in suite.tasks if t in present] for name, suite in SUITES.items()
            if name != "all" and present & set(suite.tasks)}


def index_view(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per (model, method, profile), dense parents included: facts, mean speed-up and, per suite,
    the mean retained % over its tasks (blank where the variant lacks a task its dense parent has) with the mean of their interval bounds and spreads (bounds that
    hold whatever the tasks' correlation: the mean of per-task bounds is never narrower than the mean's)."""
    suites = suites_with_results(table)
    first = table.groupby(VARIANT, sort=False).agg(
        family=("family", "first"), kind=("kind", "first"), setting=("setting", "first"),
        sparsity=("sparsity", "first"), model_bits_per_weight=("model_bits_per_weight", "first"),
        model_bytes=("model_bytes", "first"), bytes_per_vector=("bytes_per_vector", "first"),
        index_bytes=("index_bytes", "first"), query_ms=("query_ms", "first"), speedup=("speedup", "mean"),
        query_ms_p99=("query_ms_p99", "first"), measured_speedup=("measured_speedup", "first"),
        prefill_tps=("prefill_tps", "first"), decode_tps=("decode_tps", "first"), docs_per_s=("docs_per_s", "first"),
        peak_memory_mb=("peak_memory_mb", "max"), kernel=("kernel", "first"), forced=("forced", "max"),
        busy=("busy", "first"), n_results=("task", "size"))  # busy: of the timing whose speeds the row shows
    for name, tasks in suites.items():
        scored = table[table["task"].isin(tasks)]
        grouped = scored.groupby(VARIANT, sort=False)
        means = grouped[["retained_pct", "retained_low", "retained_high", "retained_std"]].mean()
        # A mean over fewer tasks than the dense parent has is not the suite's figure: left blank.
        dense_tasks = scored[scored["method"] == "dense"].groupby(["model", "profile"])["task"].nunique()
        needed = [dense_tasks.get((model, profile), 0) for model, _, profile in means.index]
        means[grouped["task"].nunique().to_numpy() < needed] = float("nan")
        first = first.join(means.add_prefix(f"{name}:"))
    view = first.reset_index()
    view["is_dense"] = view["method"] == "dense"
    return view.sort_values(["family", "profile", "is_dense", "method"], ascending=[True, True, False, True],
                            ignore_index=True), list(suites)


def frontier(points: pd.DataFrame, x: str, y: str) -> pd.Series:
    """Whether each point is on the Pareto frontier of low `x` and high `y` (bench.site.pareto's rule)."""
    on = set(pareto_frontier(list(points[x]), list(points[y])))
    return pd.Series([i in on for i in range(len(points))], index=points.index, dtype=bool)


def pareto_view(table: pd.DataFrame, profile: str) -> pd.DataFrame:
    """Variants of `profile` with bits/weight: mean retained % over all their tasks, and whether no other
    variant is as small and as good (one frontier per model family: their tasks differ)."""
    rows = table[(table["profile"] == profile) & table["model_bits_per_weight"].notna()]
    view = rows.groupby(VARIANT, sort=False).agg(
        family=("family", "first"), kind=("kind", "first"), model_bits_per_weight=("model_bits_per_weight", "first"),
        model_bytes=("model_bytes", "first"), speedup=("speedup", "mean"), retained_pct=("retained_pct", "mean"),
        measured_speedup=("measured_speedup", "first"), decode_tps=("decode_tps", "first"),
        peak_memory_mb=("peak_memory_mb", "max"),
        n_results=("task", "size")).reset_index()
    view = view[view["retained_pct"].notna()]
    if view.empty:
        return view
    view["on_frontier"] = pd.concat([frontier(group, "model_bits_per_weight", "retained_pct")
                                     for _, group in view.groupby("family")])
    return view.sort_values(["family", "model_bits_per_weight", "retained_pct"], ascending=[True, True, False],
                            ignore_index=True)
