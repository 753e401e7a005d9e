"""Benchmark (`make bench`): what calibration changes. Method x calibration source x size x act-order
-> wiki_ppl and capitals_mc on the default model, next to RTN (no calibration) and Wanda.

Every variant runs through bench's own runner and writes ordinary result files into --out, so
`bench site build --submissions OUT` shows them; the table printed at the end is read back from
those results (their calibration record and method params), not from what was asked for.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from bench import BenchError
from bench.console import RunConsole
from bench.runner import Pair, RunRequest, plan, run_all
from bench.schema import RunResult

TASKS = ["wiki_ppl", "capitals_mc"]
# (method, params): the calibrated settings run once per source and size, RTN once.
SETTINGS = {
    "gptq": [{"bits": 4, "group_size": 128, "act_order": False}, {"bits": 4, "group_size": 128, "act_order": True}],
    "sparsegpt": [{"sparsity": 0.5}],
    "wanda": [{"sparsity": 0.5}],
    "rtn": [{"bits": 4, "group_size": 128}],
}
SOURCES = ["news", "wiki", "pydoc", "mix"]
SIZES = ["16x512", "128x512"]


def parse_size(size: str) -> tuple[int, int]:
    samples, _, seqlen = size.partition("x")
    if not (samples.isdigit() and seqlen.isdigit()):
        raise click.BadParameter(f"{size!r} is not SAMPLESxSEQLEN, e.g. 16x512", param_hint="--sizes")
    return int(samples), int(seqlen)


def requests_for(methods: list[str], sources: list[str], sizes: list[str], **base: object) -> list[RunRequest]:
    """One request per method setting, and per calibration source and size for the calibrated ones."""
    requests = []
    for method in methods:
        for params in SETTINGS[method]:
            if method == "rtn":  # needs no calibration: one row, whatever the sources and sizes
                requests.append(RunRequest(method=method, method_params=params, **base))
                continue
            for source in sources:
                for samples, seqlen in map(parse_size, sizes):
                    requests.append(RunRequest(method=method, method_params=params, calib_samples=samples,
                                               calib_seqlen=seqlen, calib_source=source, **base))
    return requests


def runnable(requests: list[RunRequest]) -> list[RunRequest]:
    """The requests this bench can plan; the others (an option not built yet) are named and left out."""
    kept = []
    for request in requests:
        try:
            plan(request)
            kept.append(request)
        except BenchError as err:
            click.echo(f"skipped {request.method} {request.method_params}: {err}")
    return kept


def calibration_row(result: RunResult) -> dict[str, object]:
    """A result's place in the table, read from the result itself."""
    calibration = result.calibration
    return {"method": result.method.name, "setting": result.method.slug.split("-calib")[0],
            "act_order": bool(result.method.params.get("act_order")),
            "source": calibration.source if calibration else "-",
            "size": f"{calibration.samples}x{calibration.seqlen}" if calibration else "-",
            "task": result.task.name, "score": result.main_score,
            "spread": result.spread.std if result.spread else None}


def calibration_table(pairs: list[Pair]) -> pd.DataFrame:
    """One row per (method setting, source, size), one column per task (and `TASK ±`, the std over seeds, where
    results have several); the dense parent first."""
    dense = {p.dense.task.name: p.dense for p in pairs}
    rows = [calibration_row(r) for r in dense.values()] + [calibration_row(p.compressed) for p in pairs]
    table = pd.DataFrame(rows).pivot_table(index=["method", "setting", "act_order", "source", "size"],
                                           columns="task", values=["score", "spread"], sort=False)
    table.columns = [task if value == "score" else f"{task} ±" for value, task in table.columns]
    return table.reset_index()


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--profile", default="cpu-2c", show_default=True)
@click.option("--methods", default=",".join(SETTINGS), show_default=True, help="Comma-separated methods.")
@click.option("--sources", default=",".join(SOURCES), show_default=True, help="Calibration sources.")
@click.option("--sizes", default=",".join(SIZES), show_default=True, help="Calibration sizes, SAMPLESxSEQLEN.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Items per task (default: all).")
@click.option("--seed", type=int, default=None,
              help="One calibration seed per setting (quicker; no spread). Default: the profile's seeds.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path(".cache/calibration-table"),
              show_default=True, help="Where the result files go (resumable: finished results are reused).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Engine output (default: OUT/engines.log).")
def main(model: str, profile: str, methods: str, sources: str, sizes: str, limit: int | None, seed: int | None,
         out: Path, log_file: Path | None) -> None:
    chosen = methods.split(",")
    unknown = sorted(set(chosen) - set(SETTINGS))
    if unknown:
        raise click.BadParameter(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(SETTINGS)}",
                                 param_hint="--methods")
    try:
        requests = runnable(requests_for(chosen, sources.split(","), sizes.split(","), model=model, profile=profile,
                                         tasks=TASKS, out=out, limit=limit, seed=seed))
    except BenchError as err:
        raise click.ClickException(str(err)) from None
    out.mkdir(parents=True, exist_ok=True)
    console = RunConsole(log_file or out / "engines.log")
    pairs = run_all(requests, log=console, capture=console)
    with pd.option_context("display.width", 200, "display.max_rows", None):
        click.echo(calibration_table(pairs).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    click.echo(f"results: {out.resolve()}  (`bench site build --submissions {out}` renders them)")


if __name__ == "__main__":
    main()
