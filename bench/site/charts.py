"""The leaderboard's charts: pure functions from the report table (`bench.report.load_table`) to altair
charts (or, for the many per-family curves, Vega-Lite specs: bench.site.curves), each None when the table holds
nothing for it to draw; `render` turns a chart into static SVG at build time (vl-convert: no browser, no
JavaScript, no CDN) beside its spec, and `to_spec` gives the spec alone for the browser to draw."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import vl_convert

from bench.report import ceiling_points, ceiling_view, fitted_curve, suite_view
from bench.site.chart_style import (Axis, Chart, HEIGHT, MAX_POINTS, WIDTH, density_layer, finish, label_layer,
                                    place_labels, scale)
from bench.site.curves import BITS_PART, SPARSITY_PART, bits_chart, series_name, sparsity_chart
from bench.site.pareto import pareto_chart, pareto_frontier

__all__ = ["Rendered", "render", "to_spec", "kick_chart", "sparsity_chart", "bits_chart", "series_name",
           "SPARSITY_PART", "BITS_PART", "pareto_chart", "pareto_frontier", "limit_chart", "limit_paper_fit"]


@dataclass(frozen=True)
class Rendered:
    svg: str  # vl-convert escapes every text it draws, so a page may include this unescaped
    spec: dict  # the Vega-Lite JSON, offered for download


def to_spec(chart: Chart | dict[str, Any]) -> dict[str, Any]:
    """A chart's Vega-Lite spec (the curve charts are specs already: bench.site.curves)."""
    if isinstance(chart, dict):
        return chart
    with alt.data_transformers.disable_max_rows():  # a big family's chart is still one page's worth
        return chart.to_dict()


def render(chart: Chart | dict[str, Any]) -> Rendered:
    """The chart as static SVG (vl-convert: no browser, no JavaScript) beside its spec."""
    spec = to_spec(chart)
    return Rendered(svg=vl_convert.vegalite_to_svg(spec), spec=spec)


def _short(model: str) -> str:
    return model.rsplit("/", 1)[-1]


PERPLEXITY = "wiki_ppl"
KNOWLEDGE = {"kick_closed_qa": "closed-book QA", "kick_open_qa": "open-book QA", "kick_mc": "multiple choice"}
COLLAPSE_POINTS = 20  # a variant this many points below its retained perplexity is named on the chart
MAX_NAMED = 20  # ... the furthest below it first, and no more than this many


def kick_chart(table: pd.DataFrame, profile: str | None = None) -> Chart | None:
    """LLM-KICK's point: per compressed variant, retained perplexity (dense / compressed perplexity, so
    higher is better) against retained knowledge (closed-, open-book QA, multiple choice). Points under the
    diagonal lost more knowledge than perplexity shows; those far under it are named (the furthest first).
    Past MAX_POINTS points they are drawn as a density, so the chart stays the same size at any scale."""
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
    collapsed = collapsed.assign(gap=collapsed[PERPLEXITY] - collapsed["min"]).nlargest(MAX_NAMED, "gap")
    names = [f"{_short(m)} {method}" if several_models else method
             for m, method in zip(collapsed["model"], collapsed["method"])]
    labels = place_labels(list(zip(collapsed[PERPLEXITY], collapsed["min"], names)), x_axis, y_axis)
    diagonal_line = diagonal.mark_line(color="#999", strokeDash=[5, 4]).encode(x_enc, y_enc)
    subtitle = [f"Under the dashed diagonal: knowledge lost that perplexity does not show; named: {COLLAPSE_POINTS}+ "
                "points under it" + (f" (the {MAX_NAMED} furthest)" if len(collapsed) == MAX_NAMED else "")]
    if len(points) > MAX_POINTS:  # thousands of variants: a density of every (variant, task) point
        named = alt.Chart(collapsed).mark_point(filled=True, size=30, color="#333").encode(
            x_enc, alt.Y("min:Q", title=y_axis.title, scale=scale(y_axis)))  # where each named variant sits
        marks = [density_layer(points[PERPLEXITY], points["knowledge"], x_axis, y_axis, "points"), named]
        subtitle.append(f"{len(points)} points (variant, knowledge task): shaded by how many fall in each cell")
    else:
        marks = [alt.Chart(spans).mark_rule(color="#bbb").encode(
            x_enc, alt.Y("min:Q", title=y_axis.title, scale=scale(y_axis)), alt.Y2("max:Q")), dots]
        subtitle.append("A grey rule joins one variant's knowledge tasks")
    return finish(alt.layer(diagonal_line, *marks, label_layer(labels, x_axis, y_axis)),
                  "Perplexity hides lost knowledge (LLM-KICK)", subtitle)


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
