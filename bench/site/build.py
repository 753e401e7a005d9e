"""Result files -> pandas -> Jinja (autoescape on) -> one static page that opens from file://."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bench.report import (FACT_COLUMNS, SPREAD_SUFFIX, calibration_view, ceiling_view, fitted_curve, load_table,
                          suite_view)
from bench.resources import resource_dir
from bench.taskspec import SUITES
from bench.schema import write_text_atomic

# Each fact column's header, which says what the figure covers, and its printf format.
FACT_DISPLAY = {"sparsity": ("sparsity", "%.3f"), "model_bits_per_weight": ("bits/weight (whole model)", "%.2f"),
                "layer_bits_per_weight": ("bits/weight (compressed layers)", "%.2f"),
                "bytes_per_vector": ("bytes/vector", "%g")}


def _facts_present(rows: pd.DataFrame) -> list[str]:
    """The fact columns at least one row has a value in (bytes per vector only for embedding variants)."""
    return [c for c in FACT_COLUMNS if c in rows.columns and rows[c].notna().any()]


def build(submissions: Path, out: Path) -> tuple[Path, pd.DataFrame]:
    table = load_table(submissions) if Path(submissions).exists() else pd.DataFrame()
    env = Environment(loader=FileSystemLoader(resource_dir("site") / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    tasks = ([(task, _facts_present(rows), rows.to_dict("records")) for task, rows in table.groupby("task", sort=True)]
             if len(table) else [])
    notes = sorted({n for n in table.get("model_notes", []) if n}) if len(table) else []
    suites = []
    for name, suite in SUITES.items():
        view = suite_view(table, suite.tasks) if len(table) else pd.DataFrame()
        columns = [c for c in view.columns
                   if c not in ("model", "method", "profile", *FACT_COLUMNS) and not c.endswith(SPREAD_SUFFIX)]
        if len(columns) >= 2:  # a view of one task repeats that task's own table
            suites.append({"name": name, "description": suite.description, "columns": columns,
                           "facts": _facts_present(view), "rows": view.to_dict("records")})
    ceiling = ceiling_view(table)
    calibration = calibration_view(table)
    html = env.get_template("index.html.j2").render(
        calibration=calibration.to_dict("records"),
        calibration_tasks=[c for c in calibration.columns if c not in ("model", "profile", "setting", "calibration")],
        tasks=tasks, suites=suites, fact_display=FACT_DISPLAY, spread_suffix=SPREAD_SUFFIX, notes=notes, n_results=len(table),
        ceiling=ceiling.to_dict("records"), ceiling_columns=list(ceiling.columns), curve=fitted_curve(table),
        built=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    index = Path(out) / "index.html"
    write_text_atomic(index, html)
    return index, table
