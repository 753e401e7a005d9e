"""Benchmark (`make bench`): build the site from N synthetic valid results (whole model families: a dense parent
and ten variants on two tasks each, with items files) and print the build's seconds (it validates every file
first, as `bench site build` does; wall and CPU seconds), of which validation and the pages, its seconds per
1,000 results (flat when the build grows linearly), the largest page and the machine's load average.
Target: 10,000 results in at most 10 s on 2 cores, no page over 1 MB. The results are generated once into
.cache/bench_site/<N> and reused; bench's task data is hashed once per process, before the timings."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import click

from bench.site.build import build
from bench.validate import check_root
from tests.synthetic import write_results

CACHE = Path(".cache/bench_site")


def results_folder(n: int) -> Path:
    folder = CACHE / str(n)
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        write_results(folder, n)
        (folder / ".complete").touch()
    return folder


@click.command()
@click.option("--sizes", default="1000,10000", show_default=True, help="numbers of results, comma-separated")
def main(sizes: str) -> None:
    started = time.perf_counter()
    folders = {int(n): results_folder(int(n)) for n in sizes.split(",")}
    print(f"generated or found the synthetic results in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    check_root(folders[min(folders)])  # imports, and hashing bench's own task data: once per process
    print(f"fixed cost (imports, task data hashes): {time.perf_counter() - started:.1f} s")
    # CPU seconds beside wall seconds: the build runs on one core, so on a busy machine its CPU time is the
    # better guess of its wall time on an idle one.
    print(f"{'results':>8} {'build s':>8} {'cpu s':>6} {'validate':>8} {'cpu s':>6} {'pages s':>8} {'s/1000':>7} "
          f"{'html':>5} {'largest page':>13}  load average")
    for n, folder in sorted(folders.items()):
        started, cpu = time.perf_counter(), time.process_time()
        valid = len(check_root(folder).results)
        validate, validate_cpu = time.perf_counter() - started, time.process_time() - cpu
        with tempfile.TemporaryDirectory() as out:
            started, cpu = time.perf_counter(), time.process_time()
            build(folder, Path(out))  # validates again, then writes the pages
            seconds, seconds_cpu = time.perf_counter() - started, time.process_time() - cpu
            pages = list(Path(out).glob("*.html"))
            largest = max(pages, key=lambda p: p.stat().st_size)
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"{valid:>8} {seconds:>8.2f} {seconds_cpu:>6.2f} {validate:>8.2f} {validate_cpu:>6.2f} "
                  f"{seconds - validate:>8.2f} {1000 * seconds / valid:>7.2f} {len(pages):>5} "
                  f"{largest.stat().st_size / 1e6:>8.2f} MB ({largest.name})  {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
