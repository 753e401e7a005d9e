"""Benchmark (`make bench`): wall time of one suite run (dense parent + one method) on the default
model, split into time inside the evaluation engine, inside the compression method, and the rest:
bench's own overhead (loading, data building, calibration windows, result files)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from bench.runner import RunRequest, run


@click.command()
@click.option("--suite", default="kick", show_default=True)
@click.option("--method", default="wanda", show_default=True)
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--limit", type=int, default=None, help="Items per task (default: all).")
def main(suite: str, method: str, model: str, limit: int | None) -> None:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        pairs = run(RunRequest(method=method, model=model, suite=suite, out=Path(out), limit=limit),
                    log=lambda _line: None)
        wall = time.perf_counter() - started
    results = [r for p in pairs for r in (p.dense, p.compressed)]
    engine = sum(r.efficiency.eval_seconds for r in results)
    compress = pairs[0].compressed.efficiency.compress_seconds or 0.0
    other = wall - engine - compress
    click.echo(f"suite {suite}, {method} on {pairs[0].dense.model.name}: {wall:.1f} s wall for "
               f"{len(results)} task evaluations ({', '.join(sorted({r.task.name for r in results}))})")
    for label, seconds in (("inside the engines (lm-eval / mteb)", engine), ("compression method", compress),
                           ("bench overhead (load, data, calibration, files)", other)):
        click.echo(f"{label:48} {seconds:8.1f} s  {100 * seconds / wall:5.1f}%")


if __name__ == "__main__":
    main()
