"""Quality against cost per hardware profile (ann-benchmarks' recall-vs-QPS plot for compression): every
variant's retained % against its bits/weight, latency or memory, the Pareto frontier as a step line and the
variants on it named. Past a few hundred variants those off the frontier are drawn as a density (how many fall
in each cell of a fixed grid), so the chart, and its page, stay the same size at any number of results."""

from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import pandas as pd

from bench.site.chart_style import (Axis, Chart, HEIGHT, MAX_POINTS, WIDTH, density_layer, finish, label_layer, padded,
                                    place_labels, scale)

# Axis titles with units for the cost columns bench knows; others get their name and a unit from its suffix.
COST_TITLES = {
    "model_bits_per_weight": "bits per weight, whole model (bits)",
    "layer_bits_per_weight": "bits per weight, compressed layers (bits)",
    "bytes_per_vector": "bytes per stored vector (bytes)",
    "measured_speedup": "measured speed-up over the dense parent (×)",
}
MAX_MODELS = 10  # points are coloured by model up to this many models (the colour scheme's size)
SUFFIX_UNITS = {"_seconds": "s", "_ms": "ms", "_bytes": "bytes", "_mb": "MB", "_gb": "GB", "_mib": "MiB",
                "_gib": "GiB"}


def pareto_frontier(xs: Sequence[float], ys: Sequence[float], *, x_lower_is_better: bool = True,
                    y_higher_is_better: bool = True) -> list[int]:
    """Indices of the points no other point dominates (as good on both axes and better on one), in order of
    increasing x. Points at the same x keep only the best y; exact duplicates of a frontier point are all on
    it; points with a missing (NaN) coordinate are never on it."""
    sign_x = 1 if x_lower_is_better else -1
    sign_y = 1 if y_higher_is_better else -1
    # Best first: cheapest, then best quality; a point is on the frontier when it beats every cheaper one.
    order = sorted((i for i in range(len(xs)) if not (math.isnan(xs[i]) or math.isnan(ys[i]))),
                   key=lambda i: (sign_x * xs[i], -sign_y * ys[i]))
    frontier: list[int] = []
    for i in order:
        last = frontier[-1] if frontier else None
        if last is None or sign_y * ys[i] > sign_y * ys[last] or (xs[i], ys[i]) == (xs[last], ys[last]):
            frontier.append(i)
    return sorted(frontier, key=lambda i: (xs[i], i))


def cost_title(column: str) -> str:
    """An axis title with its unit: "peak_memory_mb" -> "peak memory (MB)"."""
    if column in COST_TITLES:
        return COST_TITLES[column]
    for suffix, unit in SUFFIX_UNITS.items():
        if column.lower().endswith(suffix):
            return f"{column[:-len(suffix)].replace('_', ' ')} ({unit})"
    return column.replace("_", " ")


def _quality(rows: pd.DataFrame, task: str | None) -> tuple[pd.DataFrame, str]:
    """One row per variant with its retained % (of `task`, or the mean over the tasks every variant has),
    and the y axis title saying which."""
    keys = ["model", "method"]
    rows = rows[[*keys, "task", "retained_pct", "cost"]]
    if task is not None:
        quality = rows[rows["task"] == task].groupby(keys, as_index=False).first()
        return quality, f"retained % of the dense parent, {task}"
    per_task = rows.drop_duplicates([*keys, "task"])["task"].value_counts()
    shared = set(per_task[per_task == len(rows.drop_duplicates(keys))].index)  # the tasks every variant has
    rows = rows[rows["task"].isin(shared)]
    if not shared:
        return rows, ""
    quality = rows.groupby(keys, as_index=False).agg(retained_pct=("retained_pct", "mean"),
                                                     cost=("cost", "first"))
    what = next(iter(shared)) if len(shared) == 1 else f"mean of {len(shared)} tasks"
    return quality, f"retained % of the dense parent, {what}"


def pareto_chart(table: pd.DataFrame, profile: str, x: str = "model_bits_per_weight", task: str | None = None,
                 x_lower_is_better: bool = True) -> Chart | None:
    """Retained % against the cost column `x` for every variant (dense parents included) on `profile`: the
    frontier as a step line, the points on it named. Without `task`, quality is the mean retained % over
    the tasks every variant has. None when no variant has both numbers."""
    if table.empty or x not in table:
        return None
    rows = table[(table["profile"] == profile) & table[x].notna() & table["retained_pct"].notna()]
    rows = rows.assign(cost=rows[x].astype(float))
    if rows.empty:
        return None
    points, y_title = _quality(rows, task)
    if points.empty:
        return None
    several_models = points["model"].nunique() > 1
    points = points.assign(name=[f"{model.rsplit('/', 1)[-1]} {method}" if several_models else method
                                 for model, method in zip(points["model"], points["method"])])
    on_frontier = pareto_frontier(list(points["cost"]), list(points["retained_pct"]),
                                  x_lower_is_better=x_lower_is_better)
    frontier = distinct(points.iloc[on_frontier])
    x_axis = Axis(*padded(points["cost"].min(), points["cost"].max()), WIDTH, cost_title(x))
    y_axis = Axis(*padded(points["retained_pct"].min(), points["retained_pct"].max(), 0.12), HEIGHT, y_title,
                  downwards=True)
    x_enc = alt.X("cost:Q", title=x_axis.title, scale=scale(x_axis))
    y_enc = alt.Y("retained_pct:Q", title=y_axis.title, scale=scale(y_axis))
    crowded = len(points) > MAX_POINTS
    shown = frontier if crowded else points
    # By model while a legend can tell them apart (not over a density: its frontier names the others "N more").
    colour = (alt.Color("model:N", title="model") if not crowded and shown["model"].nunique() <= MAX_MODELS
              else alt.value("#4c78a8"))
    dots = alt.Chart(shown).mark_point(filled=True, size=50, opacity=0.8).encode(
        x_enc, y_enc, color=colour,
        tooltip=["model:N", "method:N", alt.Tooltip("cost:Q", title=x), alt.Tooltip("retained_pct:Q", format=".1f")])
    step = alt.Chart(frontier).mark_line(interpolate="step-after" if x_lower_is_better else "step-before",
                                         color="#333", strokeWidth=1.5).encode(x_enc, y_enc)
    rings = alt.Chart(frontier).mark_point(size=110, color="#333", strokeWidth=1.2).encode(x_enc, y_enc)
    labels = place_labels(list(zip(frontier["cost"], frontier["retained_pct"], frontier["name"])), x_axis, y_axis)
    layers = [step, dots, rings, label_layer(labels, x_axis, y_axis)]
    subtitle = ["Pareto frontier: the step line; variants on it are circled and named"]
    if crowded:
        others = points.drop(index=points.index[on_frontier])
        layers.insert(0, density_layer(others["cost"], others["retained_pct"], x_axis, y_axis))
        subtitle.append(f"{len(points) - len(on_frontier)} variants off the frontier: shaded by how many fall in "
                        "each cell (every variant is in the table below)")
    return finish(alt.layer(*layers), f"Quality against cost on {profile}", subtitle)


def distinct(frontier: pd.DataFrame) -> pd.DataFrame:
    """One row per frontier position: variants with the same cost and quality (one method on many models of one
    size) are drawn and named once, as "name and N more"."""
    grouped = frontier.groupby(["cost", "retained_pct"], sort=False)
    first = grouped.head(1)
    more = grouped["name"].transform("size")[first.index] - 1
    return first.assign(name=[f"{name} and {n} more" if n else name for name, n in zip(first["name"], more)])
