"""The pages built from results: the index of variants, one page per suite, task, model family and profile's
Pareto view, and LIMIT's. Each returns a Page (bench.site.pages) whose tables carry their rows' links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from bench.report import SPREAD_SUFFIX, calibration_view, ceiling_points, ceiling_view, fitted_curve, suite_view
from bench.schema import model_dirname
from bench.site.columns import (FACTS, VARIANT, Column, family_page, index_columns, present, result_columns,
                                result_links, retained, task_page)
from bench.site.charts import limit_paper_fit
from bench.site.figures import figure
from bench.site.pages import Page, Section
from bench.site.tables import SiteTable, frame_rows, number
from bench.site.views import index_view, pareto_view, suites_with_results
from bench.taskspec import SUITES, TASKS


def _sources(table: pd.DataFrame, keys: list[str]) -> dict[tuple, list[tuple[str, str]]]:
    """Per group of `keys`, a link to each result file in it, labelled by its task."""
    sources: dict[tuple, list[tuple[str, str]]] = {}
    for key, task, link in zip(zip(*(table[k] for k in keys)), table["task"], table["result_href"]):
        sources.setdefault(key, []).append((task, link))
    return sources


def index_page(table: pd.DataFrame) -> Page:
    view, suites = index_view(table)
    rows = frame_rows(view)
    sources = _sources(table, ["model", "method", "profile"])
    for row in rows:
        row.update(family_href=family_page(row["family"]), sources=sources[(row["model"], row["method"], row["profile"])])
    variants = SiteTable("variants", "Every compressed model, by profile", index_columns(suites, rows), rows,
                         "One row per model, method with its params, and hardware profile; the dense parents "
                         "(retained 100%) are the reference rows. A suite's retained % is the mean over its tasks, shown "
                         "once the variant has every task its dense parent has.")
    tasks = [(f"{task} ({len(rows)} results)", task_page(task)) for task, rows in table.groupby("task")]
    families = [(model, family_page(family)) for model, family in
                sorted(set(zip(table["model"], table["family"])), key=lambda pair: pair[1])]
    return Page("index", "bench leaderboard", sections=[Section("Tasks", links=tasks),
                                                          Section("Model families", links=families)], paged=variants)


def result_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Every result as a row of the task and family tables, with its links."""
    records = frame_rows(table)
    for row in records:
        row.update(family_href=family_page(row["family"]), task_href=task_page(row["task"]), sources=result_links(row),
                   is_dense=row["method"] == "dense")
    return records


def group(records: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    """Records by `key`, in sorted key order, each group in the records' order."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in records:
        groups.setdefault(row[key], []).append(row)
    return dict(sorted(groups.items()))


def task_page_of(task: str, records: list[dict[str, Any]]) -> Page:
    table = SiteTable("results", f"{task}: every result", result_columns(records), records,
                      f"Main metric: {records[0]['metric']}. Raw scores beside the dense parent's, then retained %.")
    return Page(f"task-{task}", f"task {task}", paged=table)


def family_page_of(out: Path, family: str, records: list[dict[str, Any]]) -> Page:
    """The dense parent against every variant of one family (its `records`), drawn in the browser: a site has as
    many family pages as families, too many to render their charts at build time."""
    stem = f"family-{family}"
    notes = sorted({row["model_notes"] for row in records if row["model_notes"]})
    sections = [Section(text="Note: " + note) for note in notes]
    for name, function in (("sparsity", "sparsity_chart"), ("bits", "bits_chart")):
        model = records[0]["model"]  # the charts select a family by its model name, the pages by its folder
        chart = figure(out, stem, name, f"Retained % against {name} for every method on {model}.", function,
                       records, model, in_browser=True)
        if chart:
            sections.append(Section(figure=chart))
    for task, rows in group(records, "task").items():
        rows = sorted(rows, key=lambda row: (row["profile"], row["method"] != "dense", row["method"]))
        sections.append(Section(table=SiteTable(f"task-{task}", f"{task}: the dense parent against every variant",
                                                result_columns(rows), rows)))
    return Page(stem, f"model family {records[0]['model']}", sections=sections)


def suite_page(out: Path, table: pd.DataFrame, name: str, tasks: list[str]) -> Page:
    stem = f"suite-{name}"
    view = suite_view(table, tasks)
    sections = [Section(links=[(task, task_page(task)) for task in tasks])]
    if name == "kick":
        chart = figure(out, stem, "kick", "Retained perplexity against retained knowledge (closed- and open-book "
                       "QA) per variant: points below the diagonal lose more knowledge than perplexity shows.",
                       "kick_chart", table)
        if chart:
            sections.append(Section(figure=chart))
    if view.empty:
        return Page(stem, f"suite {name}", SUITES.get(name).description, sections)
    rows = frame_rows(view)
    for row in rows:  # each task's figure and spread under the keys a retained % column reads
        row["family_href"] = family_page(model_dirname(row["model"]))
        for task in tasks:
            row.update({f"{task}:retained_pct": row.get(task), f"{task}:retained_std": row.get(task + SPREAD_SUFFIX)})
    columns = [*VARIANT[:2], VARIANT[4]] + [retained(f"{t}:", t) for t in tasks if t in view] + (
        [Column("open_minus_closed", "open − closed (points)", number("%.1f"), numeric=True)]
        if "open_minus_closed" in view else [])
    paged = SiteTable("retained", f"suite {name}: retained % by task", present(columns + FACTS[:3], rows), rows)
    return Page(stem, f"suite {name}", SUITES.get(name).description, sections, paged)


def pareto_page(out: Path, table: pd.DataFrame, profile: str) -> Page:
    stem = f"pareto-{profile}"
    view = pareto_view(table, profile)
    rows = frame_rows(view)
    for row in rows:
        row.update(family_href=family_page(row["family"]), frontier="yes" if row["on_frontier"] else "")
    sections = []
    chart = figure(out, stem, "bits", "Mean retained % against whole-model bits/weight; the frontier joins the "
                   "variants no other beats on both.", "pareto_chart", table, profile, x="model_bits_per_weight")
    speed = figure(out, stem, "speed", "Mean retained % against the measured speed-up over the dense parent "
                   "(decode tokens/s, or documents/s), timed on this profile.", "pareto_chart", table, profile,
                   x="measured_speedup", x_lower_is_better=False)
    sections += [Section(figure=found) for found in (chart, speed) if found]
    columns = [*VARIANT[:3], retained(label="mean retained %"),
               Column("frontier", "on the frontier", filter=True), *FACTS[1:2], FACTS[3], FACTS[7], FACTS[8],
               FACTS[11],
               Column("n_results", "results", number("%d"), numeric=True)]
    table = SiteTable("pareto", f"Quality against size on {profile}", present(columns, rows), rows,
                      "Frontier per model family: no other variant of the family is as small (bits/weight) and "
                      "keeps as much (mean retained %).")
    return Page(stem, f"Pareto: {profile}", sections=sections, paged=table)


def limit_page(out: Path, table: pd.DataFrame) -> Page:
    ceiling = ceiling_view(table)
    sections = []
    chart = figure(out, "limit", "ceiling", "Critical n against d: bench's free-embedding search and the paper's "
                   "protocol beside the paper's published fit; diamonds: the construction's ceiling per storage "
                   "precision.", "limit_chart", table)
    if chart:
        sections.append(Section(figure=chart))
    if len(ceiling):
        rows = frame_rows(ceiling)
        columns = [Column(c, c, number("%.0f"), numeric=True) for c in ceiling.columns]
        sections.append(Section(table=SiteTable("ceiling", "Free-embedding ceiling: critical n by dimension", columns,
                                                rows, f"Fit: {fitted_curve(table) or 'none recorded'}.")))
    points = ceiling_points(table)
    for protocol in ("paper", "construction"):
        rows = points[points["protocol"] == protocol] if len(points) else points
        if len(rows):
            sections.append(Section(table=_ceiling_table(protocol, rows)))
    suites = suites_with_results(table)
    tasks = [t for name in ("limit", "limit-patterns") for t in suites.get(name, [])
             if TASKS.get(t).backend != "limit"]  # the ceiling tasks have their own chart and tables
    records = result_records(table[table["task"].isin(tasks)].sort_values(["task", "model", "method"]))
    paged = SiteTable("compressed", "Compressed embeddings on LIMIT and its patterns", result_columns(records),
                      records) if tasks else None
    return Page("limit", "LIMIT", "Free embeddings show how many documents d dimensions can serve; compressed "
                "encoders and vectors show how much of that a compression keeps.", sections, paged)


CEILING_TABLES = {
    "paper": ("paper-protocol", "The paper's protocol: critical n by dimension",
              ["d", "k", "critical_n", "paper_fit", "steps", "seed", "capped", "seconds"],
              "Random unit vectors, Adam at 0.01, full-batch InfoNCE at temperature 0.1, renormalised every step, "
              "early stopping (1000 steps, 1e-5), n searched by galloping, bisection and a sweep. Paper fit: the "
              "paper's published polynomial at d. Steps: of the run that solved the critical n."),
    "construction": ("storage-precision", "The construction: critical n by storage precision",
                     ["precision", "k", "d", "critical_n", "capped", "seconds"],
                     "Documents on the trigonometric moment curve in d = 2k dimensions, one query per k-subset from "
                     "the polynomial that vanishes on it: the largest n at which every k-subset is returned exactly "
                     "with the vectors stored in that format."),
}
LABELS = {"critical_n": "critical n", "paper_fit": "paper's fit", "capped": "lower bound (a cost cap stopped it)"}


def _ceiling_table(protocol: str, points: pd.DataFrame) -> SiteTable:
    name, title, keys, intro = CEILING_TABLES[protocol]
    rows = frame_rows(points.assign(paper_fit=points["d"].map(limit_paper_fit),
                                    capped=points["capped"].map({True: "yes", False: ""})))
    forms = {"paper_fit": "%.1f", "seconds": "%.0f"}
    columns = [Column(key, LABELS.get(key, key), filter=True) if key in ("precision", "capped") else
               Column(key, LABELS.get(key, key), number(forms.get(key, "%d")), numeric=True) for key in keys]
    return SiteTable(name, title, columns, rows, intro)


def calibration_page(table: pd.DataFrame) -> Page | None:
    """Retained % per method setting and calibration text, data-free methods beside them (None: nothing was
    calibrated two ways, so there is nothing to compare)."""
    view = calibration_view(table)
    if view.empty:
        return None
    keys = ["model", "profile", "setting", "calibration"]
    columns = [Column(k, k, filter=k != "model") for k in keys] + [
        Column(task, task, number("%.1f%%"), numeric=True) for task in view.columns if task not in keys]
    return Page("calibration", "Calibration", "The same method and settings calibrated on different text or "
                "amounts of it (source, windows x tokens), data-free methods (\"-\") beside them: calibration "
                "choices change the ranking of methods.",
                [Section(table=SiteTable("retained", "Retained % by setting and calibration", columns, frame_rows(view)))])
