"""Benchmark (`make bench`): LIMIT's critical n by the paper's own protocol, and the ceiling that storage
precision leaves the explicit construction.

First the construction (bench.backends.limit_construction): for k = 2 (d = 4) and k = 3 (d = 6), the largest n
at which every k-subset is returned exactly with the vectors stored in each precision, and the seconds each
search took. Then the paper's protocol (bench.backends.limit_paper) for k = 2, d = 4..16, smallest d first,
each row printed as it finishes: critical n, the largest n the sweep solved, the steps of the solving run,
trials, wall time on this machine (one torch thread), beside the paper's fitted critical n for that d.
"""

from __future__ import annotations

import dataclasses
import time

import click

from bench.backends.limit import polynomial_fit
from bench.backends.limit_construction import PRECISIONS, ceiling, max_n_for
from bench.backends.limit_paper import PaperSettings, one_thread, paper_search, paper_trial
from bench.limit_points import PRECISION_ORDER
from bench.site.charts import PAPER_FIT, limit_paper_fit


def precision_table(ks: list[int], max_scores: float) -> None:
    click.echo(f"constructive ceiling: largest n with every k-subset exact (C(n,k) x n <= {max_scores:.0e} scores "
               "checked per n; '>=' where that cap stopped the search)")
    click.echo(f"{'precision':10}" + "".join(f"{f'k={k} (d={2 * k})':>16}{'s':>7}" for k in ks))
    for precision in PRECISION_ORDER:
        cells = []
        for k in ks:
            started = time.perf_counter()
            n, capped = ceiling(k, PRECISIONS.get(precision), max_n_for(k, max_scores))
            cells.append(f"{('>=' if capped else '') + str(n):>16}{time.perf_counter() - started:7.1f}")
        click.echo(f"{precision:10}" + "".join(cells), nl=True)


def paper_table(dims: range, settings: PaperSettings, start: int) -> None:
    click.echo(f"\npaper protocol, k = {settings.k}: {settings}")
    click.echo(f"{'d':>3} {'critical n':>10} {'paper fit':>9} {'sweep max':>9} {'steps':>6} {'trials':>6} "
               f"{'capped':>6} {'seconds':>8}")
    found = []
    for d in dims:
        started = time.perf_counter()
        n, trials = paper_search(lambda size: paper_trial(size, d, settings), start, settings.k)
        capped = any(t.hit_max_steps for t in trials.values() if not t.solved)
        sweep = max((t.n for t in trials.values() if t.solved), default=0)
        click.echo(f"{d:3d} {n or 0:10d} {limit_paper_fit(d):9.1f} {sweep:9d} {trials[n].steps if n else 0:6d} "
                   f"{len(trials):6d} {'yes' if capped else 'no':>6} {time.perf_counter() - started:8.1f}")
        found.append((d, n or 0))
        start = n or start
    if len(found) >= 2:
        fit = polynomial_fit(*map(list, zip(*found)))
        click.echo("fit of these points: n = " + " + ".join(f"{c:.4g} d^{p}" for p, c in enumerate(fit)))
        click.echo("paper's fit:         n = " + " + ".join(f"{c:.4g} d^{p}" for p, c in enumerate(PAPER_FIT)))


@click.command()
@click.option("--min-dims", default=4, show_default=True, type=click.IntRange(min=2))
@click.option("--max-dims", default=16, show_default=True, type=click.IntRange(min=2))
@click.option("--max-steps", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="the paper's step cap; lower it to bound the time (rows it binds say capped)")
@click.option("--start-n", default=11, show_default=True, type=click.IntRange(min=3),
              help="the first dimension's first n (each next d starts at the last critical n)")
@click.option("--max-scores", default=3e8, show_default=True, help="the construction's cost cap per n")
@click.option("--skip-paper", is_flag=True, help="only the construction's table")
def main(min_dims: int, max_dims: int, max_steps: int, start_n: int, max_scores: float, skip_paper: bool) -> None:
    with one_thread():  # a shared 2-core machine: every timing here is one torch thread
        precision_table([2, 3], max_scores)
        if not skip_paper:
            paper_table(range(min_dims, max_dims + 1), dataclasses.replace(PaperSettings(), max_steps=max_steps),
                        start_n)


if __name__ == "__main__":
    main()
