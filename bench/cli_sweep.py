"""`bench sweep GRID.yaml`: a grid of runs, on this machine or on Ray; and `--include-path`, shared with run and ls."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import click

from bench import BenchError

if TYPE_CHECKING:
    from bench.console import RunConsole
    from bench.sweep import Executor, Job

include_path_option = click.option(
    "--include-path", "include_paths", multiple=True, type=click.Path(exists=True, file_okay=False),
    help="A folder of task and suite YAML to add to bench's own (repeatable), as lm-eval's --include_path.")


def load_includes(include_paths: tuple[str, ...]) -> None:
    if include_paths:
        from bench.taskspec import load_include_paths

        load_include_paths(include_paths)


@click.command()
@click.argument("grid", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=Path("submissions"), show_default=True)
@click.option("--dry-run", is_flag=True, help="Print the jobs (dense parents, then cells) and which are finished.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: one job at a time in this process; ray: each job a Ray task with its profile's resources.")
@click.option("--address", help="ray: the address of an existing cluster (default: start Ray on this machine).")
@click.option("--num-cpus", type=click.IntRange(min=1), help="ray, started here: CPUs it may use (default: all).")
@click.option("--force", is_flag=True, help="Recompute results that already exist (each dense parent once).")
@click.option("--trust-remote-code", is_flag=True, help="Allow a hub model's own code to run (off by default).")
@include_path_option
@click.option("--log", "log_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the engines' output and each job's steps go (default: $BENCH_CACHE/logs/run-<time>.log).")
@click.option("-v", "--verbose", is_flag=True, help="Show the engines' output and each job's steps live instead.")
def sweep(grid: Path, out: Path, dry_run: bool, executor: str, address: str | None, num_cpus: int | None,
          force: bool, trust_remote_code: bool, include_paths: tuple[str, ...], log_file: Path | None,
          verbose: bool) -> None:
    """Run every cell of a grid file (a matrix of `bench run` options, README "Sweeps"): the dense parents
    first, once per model, task and profile, then the cells in order; finished results are kept. Exit 1 if
    any job failed (the others still run), 2 for bad input (checked before anything runs)."""
    from bench.assets import cache_dir
    from bench.console import RunConsole, default_log_path
    from bench.grid import load_grid
    from bench.sweep import plan_jobs

    if executor != "ray" and (address or num_cpus):
        raise BenchError("--address and --num-cpus go with --executor ray")
    load_includes(include_paths)
    out = out.resolve()  # a Ray worker runs elsewhere: it gets the absolute folder
    cells = load_grid(grid)
    jobs = plan_jobs([cell.request(out, force, trust_remote_code) for cell in cells],
                     [str(Path(path).resolve()) for path in include_paths])
    if dry_run:
        for job in jobs:
            state = "finished" if not job.todo else f"{job.total - job.todo}/{job.total} results"
            kind = "dense" if job.dense else "cell "
            click.echo(f"{job.number:4} {kind} {state:>13}  {job.label}")
        todo = sum(1 for job in jobs if job.todo)
        click.echo(f"{len(cells)} cells, {sum(job.dense for job in jobs)} dense parents: "
                   f"{len(jobs) - todo} jobs finished, {todo} to run")
        return
    console = RunConsole(None if verbose else log_file or default_log_path(cache_dir()))
    failed = _run(jobs, console, lambda: _executor(executor, jobs, console, address, num_cpus))
    click.echo(f"results: {out}  (`bench report --submissions {out}` lists them)")
    if console.captured:
        click.echo(f"engine output and each job's steps: {console.log_path}  (-v shows them live)")
    if failed:
        raise SystemExit(1)


def _executor(kind: str, jobs: list[Job], console: RunConsole, address: str | None, num_cpus: int | None) -> Executor:
    from bench.executors import LocalExecutor, RayExecutor

    if kind == "local":
        return LocalExecutor(console.note)
    return RayExecutor(jobs, console.note, address=address, num_cpus=num_cpus)


def _run(jobs: list[Job], console: RunConsole, make_executor: Callable[[], Executor]) -> int:
    """The number of failed jobs; an interrupted sweep says how to resume and exits 130."""
    from bench.sweep import run_jobs
    from bench.sweep_view import SweepView

    if not any(job.todo for job in jobs):
        click.echo(f"[sweep] all {len(jobs)} jobs finished already (--force recomputes them)")
        return 0
    with console:
        executor = make_executor()
        view = SweepView(jobs, console, executor.slots)
        try:
            failed = run_jobs(jobs, executor, view)
        except KeyboardInterrupt:
            console(f"{view.summary()}; interrupted: run the same command again to resume (finished results "
                    "are kept)")
            raise SystemExit(130) from None
        console(view.summary())
    for job, outcome in failed:
        click.echo(f"FAILED {job.label}: {outcome.error}", err=True)
    return len(failed)
