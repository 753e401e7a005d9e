"""Benchmark (`make bench`): what the Ray executor costs per cell against the local one. The same sweep (a tiny
random Llama, magnitude pruning at N sparsities on two items of wiki_ppl: a dense parent and N cells) runs with
each executor into its own fresh folder; it prints Ray's start-up, each executor's wall time, the overhead per job
((ray - local) / jobs), and checks that both wrote the same scores. On cpu-2c each job takes 2 CPUs, so on a
2-core machine Ray runs them one at a time, as the local executor does: the difference is Ray's own cost."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import click

from bench.console import RunConsole
from bench.executors import LocalExecutor, RayExecutor, connect
from bench.grid import Cell
from bench.sweep import plan_jobs, run_jobs
from tests.tiny_models import save_tiny_llama

CACHE = Path(".cache/bench_sweep")


class Quiet:
    def skipped(self, job) -> None: ...
    def started(self, job) -> None: ...

    def finished(self, job, outcome) -> None:
        if outcome.error:
            raise SystemExit(f"job {job.number} failed: {outcome.error}")


def scores(out: Path) -> dict[str, object]:
    return {p.relative_to(out).as_posix(): json.loads(p.read_text())["metrics"]
            for p in sorted(out.rglob("*.json")) if not p.name.endswith(".items.json")}


@click.command()
@click.option("--cells", default=4, show_default=True, help="compressed cells (sparsities 0.1, 0.2, ...)")
def main(cells: int) -> None:
    model = CACHE / "tiny-llama"
    if not (model / "config.json").exists():
        save_tiny_llama(model)
    console = RunConsole(CACHE / "engines.log")
    walls, jobs = {}, []
    with console:
        for kind in ("local", "ray"):
            out = CACHE / kind
            shutil.rmtree(out, ignore_errors=True)
            requests = [Cell(model=str(model.resolve()), method="magnitude", sparsity=round(0.1 * (i + 1), 2),
                             tasks="wiki_ppl", limit=2).request(out.resolve()) for i in range(cells)]
            jobs = plan_jobs(requests)
            if kind == "ray":
                started = time.perf_counter()
                connect(num_cpus=2)
                ray_start = time.perf_counter() - started
            executor = LocalExecutor(console.note) if kind == "local" else RayExecutor(jobs, console.note)
            started = time.perf_counter()
            run_jobs(jobs, executor, Quiet())
            walls[kind] = time.perf_counter() - started
    import ray

    ray.shutdown()
    same = scores(CACHE / "local") == scores(CACHE / "ray")
    print(f"{len(jobs)} jobs (1 dense parent, {cells} cells), tiny Llama, wiki_ppl x 2 items, cpu-2c (2 CPUs each)")
    print(f"ray start-up (ray.init, 2 CPUs): {ray_start:.1f} s")
    print(f"local executor: {walls['local']:.1f} s ({walls['local'] / len(jobs):.1f} s per job)")
    print(f"ray executor:   {walls['ray']:.1f} s ({walls['ray'] / len(jobs):.1f} s per job)")
    print(f"ray overhead per job: {(walls['ray'] - walls['local']) / len(jobs):+.1f} s; same scores: {same}")


if __name__ == "__main__":
    main()
