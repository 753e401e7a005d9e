"""The leaderboard's charts: pure functions from the report table (`bench.report.load_table`) to altair
charts, each None when the table holds nothing for it to draw, and `render`, which turns a chart into
static SVG at build time (vl-convert: no browser, no JavaScript, no CDN) beside its Vega-Lite spec."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import altair as alt
import numpy as np
import pandas as pd
import vl_convert

from bench.report import ceiling_points, ceiling_view, fitted_curve, suite_view
from bench.site.chart_style import Axis, Chart, HEIGHT, WIDTH, finish, label_layer, place_labels, scale
from bench.site.pareto import COST_TITLES, pareto_chart, pareto_frontier

__all__ = ["Rendered", "render", "kick_chart", "sparsity_chart", "bits_chart", "pareto_chart", "pareto_frontier",
           "limit_chart", "limit_paper_fit"]


@dataclass(frozen=True)
class Rendered:
    svg: str  # vl-convert escapes every text it draws, so a page may include this unescaped
    spec: dict  # the Vega-Lite JSON, offered for download and for vega-embed


def render(chart: Chart) -> Rendered:
    with alt.data_transformers.disable_max_rows():  # a big family's chart is still one page's worth
        spec = chart.to_dict()
    return Rendered(svg=vl_convert.vegalite_to_svg(spec), spec=spec)


def _short(model: str) -> str:
    return model.rsplit("/", 1)[-1]


PERPLEXITY = "wiki_ppl"
KNOWLEDGE = {"kick_closed_qa": "closed-book QA", "kick_open_qa": "open-book QA", "kick_mc": "multiple choice"}
COLLAPSE_POINTS = 20  # a variant this many points below its retained perplexity is named on the chart


def kick_chart(table: pd.DataFrame, profile: str | None = None) -> Chart | None:
    """LLM-KICK's point: per compressed variant, retained perplexity (dense / compressed perplexity, so
    higher is better) against retained knowledge (closed-, open-book QA, multiple choice). Points under the
    diagonal lost more knowledge than perplexity shows; those far under it are named."""
    rows = table if table.empty or profile is None else table[table["profile"] == profile]
    view = suite_view(rows, [PERPLEXITY, *KNOWLEDGE]) if len(rows) else pd.DataFrame()
    present = [task for task in KNOWLEDGE if task in view]
    if PERPLEXITY not in view or not present:
        return None
    points = view.melt(id_vars=["model", "method", "profile", PERPLEXITY], value_vars=present, var_name="task",
                       value_name="knowledge").dropna(subset=[PERPLEXITY, "knowledge"])
    if points.empty:
        return None
    points["knowledge_task"] = points["task"].map(KNOWLEDGE)
    top = max(105.0, 10 * math.ceil(max(points[PERPLEXITY].max(), points["knowledge"].max()) / 10))
    x_axis = Axis(0, top, WIDTH, "perplexity retained (%, dense ÷ compressed perplexity)")
    y_axis = Axis(0, top, HEIGHT, "knowledge retained (% of dense score)", downwards=True)
    x_enc = alt.X(f"{PERPLEXITY}:Q", title=x_axis.title, scale=scale(x_axis))
    y_enc = alt.Y("knowledge:Q", title=y_axis.title, scale=scale(y_axis))
    diagonal = alt.Chart(alt.Data(values=[{PERPLEXITY: 0, "knowledge": 0}, {PERPLEXITY: top, "knowledge": top}]))
    spans = points.groupby(["model", "method", "profile", PERPLEXITY], as_index=False)["knowledge"].agg(["min", "max"])
    dots = alt.Chart(points).mark_point(filled=True, size=60, opacity=0.85).encode(
        x_enc, y_enc, color=alt.Color("knowledge_task:N", title="knowledge task"),
        shape=alt.Shape("knowledge_task:N", title="knowledge task"),
        tooltip=["model:N", "method:N", "profile:N", "knowledge_task:N",
                 alt.Tooltip(f"{PERPLEXITY}:Q", format=".1f"), alt.Tooltip("knowledge:Q", format=".1f")])
    several_models = points["model"].nunique() > 1
    collapsed = spans[spans["min"] <= spans[PERPLEXITY] - COLLAPSE_POINTS]
    names = [f"{_short(m)} {method}" if several_models else method
             for m, method in zip(collapsed["model"], collapsed["method"])]
    labels = place_labels(list(zip(collapsed[PERPLEXITY], collapsed["min"], names)), x_axis, y_axis)
    return finish(alt.layer(
        diagonal.mark_line(color="#999", strokeDash=[5, 4]).encode(x_enc, y_enc),
        alt.Chart(spans).mark_rule(color="#bbb").encode(x_enc, alt.Y("min:Q", title=y_axis.title, scale=scale(y_axis)),
                                                       alt.Y2("max:Q")),
        dots, label_layer(labels, x_axis, y_axis),
    ), "Perplexity hides lost knowledge (LLM-KICK)",
        [f"Under the dashed diagonal: knowledge lost that perplexity does not show; named: {COLLAPSE_POINTS}+ "
         "points under it", "A grey rule joins one variant's knowledge tasks"])


# The slug parts that vary along a curve's x axis: dropped from the series name, so one method's
# settings form one line ("wanda-sp0.3", "wanda-sp0.5" -> "wanda"; "rtn-w4g128", "rtn-w3g128" -> "rtn-g128").
SPARSITY_PART = re.compile(r"(?<=-)sp\d+(?:\.\d+)?(?=-|\+|$)")
BITS_PART = re.compile(r"(?<=-)w\d+(?=g|-|\+|$)")


def series_name(slug: str, *varying: re.Pattern[str]) -> str:
    for part in varying:
        slug = part.sub("", slug)
    return re.sub(r"-(?=-|\+|$)", "", slug)


def _with_error_bars(points: pd.DataFrame) -> pd.DataFrame:
    """The paired bootstrap interval where a result has one, else mean ± the seeds' std, else none."""
    interval = points["retained_low"].notna() & points["retained_high"].notna()
    low = points["retained_low"].where(interval, points["retained_pct"] - points["retained_std"])
    high = points["retained_high"].where(interval, points["retained_pct"] + points["retained_std"])
    return points.assign(error_low=low, error_high=high)


def _curve_chart(table: pd.DataFrame, family: str, x: str, x_axis: alt.X, varying: tuple[re.Pattern[str], ...],
                 title: str, task: str | None, value: str,
                 keep: Callable[[pd.DataFrame], pd.Series] | None = None) -> Chart | None:
    """`value` against `x` for `family`'s variants that `keep` selects, one line per method (its slug less
    the `varying` parts) and task, each starting at the dense parent."""
    rows = table[(table["model"] == family) & (table["task"] == task if task else True)] if len(table) else table
    rows = rows[rows[x].notna() & rows[value].notna()] if len(rows) else rows
    variants = rows[rows["method"] != "dense"] if len(rows) else rows
    variants = variants[keep(variants)] if keep and len(variants) else variants
    if variants.empty:
        return None
    variants = variants.assign(series=[series_name(slug, *varying) for slug in variants["method"]])
    dense = rows[rows["method"] == "dense"].merge(variants[["series", "task", "profile"]].drop_duplicates(),
                                                  on=["task", "profile"])
    # Without the per-result metrics dict: the spec carries only what the chart draws.
    points = pd.concat([dense, variants], ignore_index=True).drop(columns=["metrics"], errors="ignore")
    points = _with_error_bars(points)
    several_tasks = points["task"].nunique() > 1
    dash = {"strokeDash": alt.StrokeDash("task:N", title="task")} if several_tasks else {}
    shape = {"shape": alt.Shape("task:N", title="task")} if several_tasks else {}
    metric = points["metric"].iloc[0] if points["metric"].nunique() == 1 else "score"
    y_title = "retained % of the dense parent (%)" if value == "retained_pct" else f"score ({metric})"
    y_enc = alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False))
    color = alt.Color("series:N", title="method")
    lines = alt.Chart(points).mark_line(strokeWidth=1.8).encode(
        x_axis, y_enc, color, detail=["task:N", "profile:N"], **dash)
    dots = alt.Chart(points).mark_point(filled=True, size=45).encode(
        x_axis, y_enc, color, **shape,
        tooltip=["method:N", "task:N", "profile:N", f"{x}:Q", alt.Tooltip(f"{value}:Q", format=".4g")])
    layers = [lines, dots]
    bars = points[points["error_low"].notna()] if value == "retained_pct" else points.iloc[:0]
    if len(bars):
        layers.append(alt.Chart(bars).mark_rule(strokeWidth=1.2).encode(x_axis, alt.Y("error_low:Q", title=y_title),
                                                                       alt.Y2("error_high:Q"), color))
    subtitle = "Error bars: paired bootstrap interval, or ± the seeds' std" if len(bars) else ""
    return finish(alt.layer(*layers), f"{title}: {_short(family)}" + (f" on {task}" if task else ""), subtitle)


def sparsity_chart(table: pd.DataFrame, family: str, task: str | None = None,
                   value: str = "retained_pct") -> Chart | None:
    """Retained % (or raw `value="score"`) against measured sparsity for `family`'s pruned variants, one line
    per method from the dense parent at 0; error bars where a result has an interval or a seed spread."""
    x_axis = alt.X("sparsity:Q", title="measured sparsity (% of weights zero)", axis=alt.Axis(format=".0%"),
                   scale=alt.Scale(domain=[0, 1], nice=False))
    return _curve_chart(table, family, "sparsity", x_axis, (SPARSITY_PART,), "Quality against sparsity", task, value,
                        keep=lambda rows: rows["sparsity"] > 0)


def bits_chart(table: pd.DataFrame, family: str, task: str | None = None,
               value: str = "retained_pct") -> Chart | None:
    """Retained % against whole-model bits per weight for `family`'s variants, one line per method from
    the dense parent at 16 bits."""
    x_axis = alt.X("model_bits_per_weight:Q", title=COST_TITLES["model_bits_per_weight"],
                   scale=alt.Scale(zero=False))
    return _curve_chart(table, family, "model_bits_per_weight", x_axis, (SPARSITY_PART, BITS_PART),
                        "Quality against bits per weight", task, value)


# LIMIT (Weller et al. 2025), figure 2: their fit of the free-embedding critical n against d.
PAPER_FIT = (-10.5322, 4.0309, 0.0520, 0.0037)
PAPER_SERIES = "LIMIT paper's fit"
CONSTRAINTS = {"float": "free vectors", "int8": "8-bit grid", "binary": "binary", "truncate_half": "half the dims"}
PAPER_PROTOCOL = "bench: paper's protocol"


def limit_paper_fit(d: float) -> float:
    """The LIMIT paper's critical n for dimension d: -10.5322 + 4.0309 d + 0.0520 d^2 + 0.0037 d^3."""
    return sum(coefficient * d**power for power, coefficient in enumerate(PAPER_FIT))


def _best_found(table: pd.DataFrame) -> pd.DataFrame:
    """bench's own search (the latest limit_free_embedding result): d, critical_n, series; one row per point."""
    view = ceiling_view(table) if len(table) else pd.DataFrame()
    if view.empty:
        return pd.DataFrame(columns=["d", "critical_n", "series"])
    found = view.melt(id_vars="d", value_vars=[c for c in view.columns if c not in ("d", "seconds")],
                      var_name="constraint", value_name="critical_n").dropna()
    order = {c: i for i, c in enumerate(CONSTRAINTS)}
    found = found.sort_values("constraint", kind="stable",
                              key=lambda column: column.map(lambda name: order.get(name, len(order))))
    return found.assign(series="bench: " + found["constraint"].map(lambda c: CONSTRAINTS.get(c, c)))


def limit_chart(table: pd.DataFrame) -> Chart | None:
    """Critical n against d on a log axis: bench's best found (free vectors and each constraint) and the paper's
    protocol as bench runs it, beside the LIMIT paper's published fit (drawn where it is positive), with the
    construction's ceiling per storage precision as labelled points at d = 2k."""
    points = ceiling_points(table) if len(table) else pd.DataFrame()
    paper_runs = points[points["protocol"] == "paper"] if len(points) else points
    built = points[points["protocol"] == "construction"] if len(points) else points
    curves = pd.concat([_best_found(table), paper_runs.assign(series=PAPER_PROTOCOL)[["d", "critical_n", "series"]]
                        if len(paper_runs) else None])
    curves = curves[curves["critical_n"] > 0]
    if curves.empty and built.empty:
        return None
    ds = pd.concat([curves["d"], built["d"] if len(built) else None]).astype(float)
    ns = pd.concat([curves["critical_n"], built["critical_n"] if len(built) else None]).astype(float)
    grid = np.arange(ds.min(), ds.max() + 0.25, 0.5)
    paper = pd.DataFrame({"d": grid, "critical_n": [limit_paper_fit(d) for d in grid], "series": PAPER_SERIES})
    paper = paper[paper["critical_n"] > 0]
    x_axis = Axis(ds.min() - 0.5, ds.max() + 0.5, WIDTH, "embedding dimension d")
    span = pd.concat([ns, paper["critical_n"]])
    y_axis = Axis(max(1.0, span.min() / 1.5), span.max() * 1.5, HEIGHT, "critical n (documents, log scale)", log=True,
                  downwards=True)
    x_enc = alt.X("d:Q", title=x_axis.title, scale=scale(x_axis), axis=alt.Axis(tickMinStep=1))
    y_enc = alt.Y("critical_n:Q", title=y_axis.title, scale=scale(y_axis))
    color = alt.Color("series:N", title=None, sort=list(dict.fromkeys(curves["series"])) + [PAPER_SERIES])
    layers = [alt.Chart(curves).mark_line(point=True).encode(x_enc, y_enc, color,
                                                             tooltip=["series:N", "d:Q", "critical_n:Q"]),
              alt.Chart(paper).mark_line(strokeDash=[6, 3], strokeWidth=2).encode(x_enc, y_enc, color)]
    if len(built):
        built = built.assign(label=[f"{p}, k={k}" + (" (cap)" if capped else "")
                                    for p, k, capped in zip(built["precision"], built["k"], built["capped"])])
        layers.append(alt.Chart(built[["d", "critical_n", "precision", "k", "capped", "label"]]).mark_point(
            shape="diamond", filled=True, size=70, color="#333").encode(
            x_enc, y_enc, tooltip=["label:N", "d:Q", "critical_n:Q", "capped:N"]))
        labels = place_labels(list(zip(built["d"], built["critical_n"], built["label"])), x_axis, y_axis)
        layers.append(label_layer(labels, x_axis, y_axis))
    fit = fitted_curve(table)
    subtitle = (["paper: n = -10.5322 + 4.0309 d + 0.0520 d^2 + 0.0037 d^3"] + ([f"bench's fit: {fit}"] if fit else [])
                + (["diamonds: the construction, every k-subset exact when stored in that format (d = 2k); "
                    "(cap): a lower bound"] if len(built) else []))
    return finish(alt.layer(*layers), "LIMIT ceilings: critical n against d", subtitle)
