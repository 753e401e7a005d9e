"""A model family's quality curves (score against sparsity, against bits per weight), one line per method from
the dense parent. A site with 10,000 results draws about 2,000 of them, so the chart is defined once in altair
per shape (which layers, which legends), kept as a Vega-Lite template with a named dataset, and each family's
curve is that template with its own points and title: plain Python over the family's rows, no pandas and no
altair per chart (both cost about 0.1 s a chart)."""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any, Callable, Sequence

import altair as alt
import pandas as pd

from bench.site.chart_style import finish
from bench.site.pareto import COST_TITLES

Rows = Sequence[dict[str, Any]]
DATA = "points"  # the name of a curve's dataset in its spec's `datasets`

# The slug parts that vary along a curve's x axis: dropped from the series name, so one method's
# settings form one line ("wanda-sp0.3", "wanda-sp0.5" -> "wanda"; "rtn-w4g128", "rtn-w3g128" -> "rtn-g128").
SPARSITY_PART = re.compile(r"(?<=-)sp\d+(?:\.\d+)?(?=-|\+|$)")
BITS_PART = re.compile(r"(?<=-)w\d+(?=g|-|\+|$)")

# Per x column: its axis and the slug parts that vary along it.
X_AXES = {
    "sparsity": (lambda: alt.X("sparsity:Q", title="measured sparsity (% of weights zero)", axis=alt.Axis(format=".0%"),
                               scale=alt.Scale(domain=[0, 1], nice=False)), (SPARSITY_PART,)),
    "model_bits_per_weight": (lambda: alt.X("model_bits_per_weight:Q", title=COST_TITLES["model_bits_per_weight"],
                                            scale=alt.Scale(zero=False)), (SPARSITY_PART, BITS_PART)),
}
BARS_NOTE = "Error bars: paired bootstrap interval, or ± the seeds' std"


def series_name(slug: str, *varying: re.Pattern[str]) -> str:
    for part in varying:
        slug = part.sub("", slug)
    return re.sub(r"-(?=-|\+|$)", "", slug)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _value(value: Any) -> Any:
    """A cell as JSON takes it: NaN (which JSON.parse rejects) becomes null."""
    return None if _missing(value) else value


@functools.lru_cache(maxsize=None)
def _template(x: str, value: str, y_title: str, several_tasks: bool, bars: bool) -> str:
    """The Vega-Lite spec (as JSON: a fresh copy per chart is a json.loads, ten times faster than a deepcopy) of
    one shape of curve chart, its points in the named dataset DATA (to be filled)."""
    x_axis = X_AXES[x][0]()
    points = alt.Chart(alt.NamedData(DATA))
    dash = {"strokeDash": alt.StrokeDash("task:N", title="task")} if several_tasks else {}
    shape = {"shape": alt.Shape("task:N", legend=None)} if several_tasks else {}  # the dash legend names tasks
    y_enc = alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False))
    color = alt.Color("series:N", title="method")
    layers = [points.mark_line(strokeWidth=1.8).encode(x_axis, y_enc, color, detail=["task:N", "profile:N"], **dash),
              points.mark_point(filled=True, size=45).encode(
                  x_axis, y_enc, color, **shape,
                  tooltip=["method:N", "task:N", "profile:N", f"{x}:Q", alt.Tooltip(f"{value}:Q", format=".4g")])]
    if bars:
        layers.append(points.transform_filter("isValid(datum.error_low)").mark_rule(strokeWidth=1.2).encode(
            x_axis, alt.Y("error_low:Q", title=y_title), alt.Y2("error_high:Q"), color))
    return json.dumps(finish(alt.layer(*layers), "", BARS_NOTE if bars else "").to_dict(validate=False))


def _errors(row: dict[str, Any]) -> tuple[Any, Any]:
    """The paired bootstrap interval where a result has one, else mean ± the seeds' std, else none."""
    low, high = row.get("retained_low"), row.get("retained_high")
    if not (_missing(low) or _missing(high)):
        return low, high
    pct, std = row.get("retained_pct"), row.get("retained_std")
    return (None, None) if _missing(pct) or _missing(std) else (pct - std, pct + std)


def curve_chart(rows: Rows | pd.DataFrame, family: str, x: str, title: str, task: str | None, value: str,
                keep: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any] | None:
    """The Vega-Lite spec of `value` against `x` for `family`'s variants that `keep` selects, one line per method
    (its slug less the parts that vary along x) and task, each starting at the dense parent; None when no variant
    has both numbers."""
    if isinstance(rows, pd.DataFrame):
        rows = rows.to_dict("records")
    rows = [r for r in rows if r["model"] == family and (task is None or r["task"] == task)
            and not _missing(r.get(x)) and not _missing(r.get(value))]
    variants = [r for r in rows if r["method"] != "dense" and (keep is None or keep(r))]
    if not variants:
        return None
    series = {r["method"]: series_name(r["method"], *X_AXES[x][1]) for r in variants}
    lines = list(dict.fromkeys((series[r["method"]], r["task"], r["profile"]) for r in variants))
    starts = [(name, r) for r in rows if r["method"] == "dense"
              for name, line_task, profile in lines if (line_task, profile) == (r["task"], r["profile"])]
    points = []
    for name, r in starts + [(series[r["method"]], r) for r in variants]:
        low, high = _errors(r) if value == "retained_pct" else (None, None)
        points.append({"method": r["method"], "task": r["task"], "profile": r["profile"], "series": name,
                       x: _value(r[x]), value: _value(r[value]), "error_low": _value(low),
                       "error_high": _value(high)})
    metrics = {r.get("metric") for r in rows}
    y_title = ("retained % of the dense parent (%)" if value == "retained_pct"
               else f"score ({next(iter(metrics)) if len(metrics) == 1 else 'score'})")
    bars = any(p["error_low"] is not None for p in points)
    spec = json.loads(_template(x, value, y_title, len({p["task"] for p in points}) > 1, bars))
    spec["title"]["text"] = f"{title}: {family.rsplit('/', 1)[-1]}" + (f" on {task}" if task else "")
    spec["datasets"] = {DATA: points}
    return spec


def sparsity_chart(rows: Rows | pd.DataFrame, family: str, task: str | None = None,
                   value: str = "retained_pct") -> dict[str, Any] | None:
    """Retained % (or raw `value="score"`) against measured sparsity for `family`'s pruned variants, one line
    per method from the dense parent at 0; error bars where a result has an interval or a seed spread."""
    return curve_chart(rows, family, "sparsity", "Quality against sparsity", task, value,
                       keep=lambda row: row["sparsity"] > 0)


def bits_chart(rows: Rows | pd.DataFrame, family: str, task: str | None = None,
               value: str = "retained_pct") -> dict[str, Any] | None:
    """Retained % against whole-model bits per weight for `family`'s variants, one line per method from
    the dense parent at 16 bits."""
    return curve_chart(rows, family, "model_bits_per_weight", "Quality against bits per weight", task, value)
