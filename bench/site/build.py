"""Result files -> pandas -> Jinja (autoescape on) -> a static site that opens from file:// and GitHub Pages:
the index, pages per suite, task, model family, Pareto profile, LIMIT, methods and methodology, every table
beside its CSV and JSON, and the validated result files copied under results/ for the pages to link."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from bench.report import COLUMNS, EXTRA_RETAINED, ROW_EXTRAS, calibration_view, load_table
from bench.resources import resource_dir
from bench.schema import PATH_PART
from bench.site import catalog
from bench.site.about import methodology_context, methods_context
from bench.site.columns import RESULTS
from bench.site.pages import Page, environment, write_page
from bench.site.views import annotate, suites_with_results

STATIC = ("site.css", "table.js", "charts.js")
VENDOR = "vendor"  # vega, vega-lite and vega-embed with their licences (site/static/vendor/README.md)


def copy_results(submissions: Path, out: Path, table: pd.DataFrame) -> None:
    """Each validated result file and its items file under `out/results/`, at its path in the submissions
    (validated paths: four parts of letters, digits, '.', '_', '+', '-', never '..'). Hard-linked where the
    two folders share a file system (a tenth of a copy's time at 10,000 results; the site is rebuilt, never
    edited in place), copied elsewhere. Plain strings, not Path objects: 20,000 files."""
    source_root, target_root = os.fspath(submissions), os.path.join(out, RESULTS)
    made: set[str] = set()
    for rel, items in zip(table["path"], table["items_file"]):
        parts = rel.split("/")
        if len(parts) != 4 or not all(PATH_PART.fullmatch(part) and part not in (".", "..") for part in parts):
            raise ValueError(f"{rel!r} is not a validated result path")
        folder = "/".join(parts[:3])
        if folder not in made:
            os.makedirs(os.path.join(target_root, folder), exist_ok=True)
            made.add(folder)
        for name in [parts[-1]] + ([items] if isinstance(items, str) and items else []):  # pandas' str: NaN if none
            _link_or_copy(os.path.join(source_root, folder, name), os.path.join(target_root, folder, name))


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except FileExistsError:  # a file of an earlier build: replaced, never written through
        os.unlink(target)
        _link_or_copy(source, target)
    except OSError:  # another file system: a copy, never into a link an earlier build made
        Path(target).unlink(missing_ok=True)
        shutil.copyfile(source, target)
        os.chmod(target, 0o644)


def _nav(table: pd.DataFrame) -> list[tuple[str, str]]:
    suites = suites_with_results(table) if len(table) else {}
    profiles = sorted(table["profile"].unique()) if len(table) else []
    return ([("Leaderboard", "index.html")] + [(f"suite {name}", f"suite-{name}.html") for name in suites]
            + [(f"Pareto {p}", f"pareto-{p}.html") for p in profiles] + [("LIMIT", "limit.html")]
            + ([("Calibration", "calibration.html")] if len(table) and not calibration_view(table).empty else [])
            + [("Methods", "methods.html"), ("Methodology", "methodology.html")])


def build(submissions: Path, out: Path) -> tuple[Path, pd.DataFrame]:
    """Build the site into `out`; returns its index page and the table of results it shows."""
    table = (load_table(submissions) if Path(submissions).exists()
             else pd.DataFrame(columns=[*COLUMNS, *EXTRA_RETAINED, *ROW_EXTRAS]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    static = resource_dir("site") / "static"
    for name in STATIC:
        shutil.copyfile(static / name, out / name)
    shutil.copytree(static / VENDOR, out / VENDOR, dirs_exist_ok=True)
    env, nav = environment(), _nav(table)
    write_page(env, out, Page("methods", "Methods"), nav, "methods.html.j2", **methods_context())
    write_page(env, out, Page("methodology", "Methodology"), nav, "methodology.html.j2", **methodology_context())
    if table.empty:
        write_page(env, out, Page("index", "bench leaderboard"), nav, "index.html.j2", n_results=0)
        write_page(env, out, Page("limit", "LIMIT"), nav)
        return out / "index.html", table
    copy_results(submissions, out, table)
    shown = annotate(table)
    shown["result_href"] = RESULTS + "/" + shown["path"]
    write_page(env, out, catalog.index_page(shown), nav, "index.html.j2", n_results=len(table),
               notes=sorted({n for n in table["model_notes"] if n}))
    pages = [catalog.suite_page(out, shown, name, tasks) for name, tasks in suites_with_results(shown).items()]
    records = catalog.result_records(shown)
    pages += [catalog.task_page_of(task, rows) for task, rows in catalog.group(records, "task").items()]
    pages += [catalog.family_page_of(out, family, rows) for family, rows in catalog.group(records, "family").items()]
    pages += [catalog.pareto_page(out, shown, profile) for profile in sorted(shown["profile"].unique())]
    pages.append(catalog.limit_page(out, shown))
    pages += [page for page in [catalog.calibration_page(shown)] if page is not None]
    for page in pages:
        write_page(env, out, page, nav)
    return out / "index.html", table

