"""Benchmark (`make bench`): chunked top-k search at LIMIT's scale vs one raw matmul + top-k.

LIMIT scores 1000 queries against 50,000 documents. `nearest` streams the corpus in chunks so that
memory stays bounded (a binary index would otherwise expand to queries x documents x bytes). This
prints, side by side in one run, the time and peak memory of the raw float search (the whole score
matrix, then argpartition and a sort of the top k) and of `nearest` with each codec on the same
vectors (random unit vectors of MiniLM's width: the cost does not depend on what they encode).
Target: float `nearest` at most 1.2x the raw search.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Callable

import click
import numpy as np

from bench.methods.embed.vectors import Binary, Codec, Int8, nearest, normalize


def raw_search(queries: np.ndarray, docs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ docs.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top_scores = np.take_along_axis(scores, top, 1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    return np.take_along_axis(top, order, 1), np.take_along_axis(top_scores, order, 1)


def measure(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best seconds of `repeats`, peak MiB allocated while running once)."""
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return min(seconds), peak


@click.command()
@click.option("--docs", default=50_000, show_default=True)
@click.option("--queries", default=1000, show_default=True)
@click.option("--dims", default=384, show_default=True)
@click.option("--k", default=1000, show_default=True, help="mteb asks for the top max(k_values) = 1000")
@click.option("--repeats", default=3, show_default=True)
def main(docs: int, queries: int, dims: int, k: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    corpus = normalize(rng.standard_normal((docs, dims), dtype=np.float32))
    asked = normalize(rng.standard_normal((queries, dims), dtype=np.float32))
    raw_seconds, raw_peak = measure(lambda: raw_search(asked, corpus, k), repeats)
    click.echo(f"{queries} queries x {docs} documents, {dims} dims, top {k}; best of {repeats}")
    click.echo(f"{'raw matmul + top-k (float)':32} {raw_seconds:6.2f} s  peak {raw_peak:7.1f} MiB  1.00x")
    for codec in (Codec(), Int8(name="int8"), Binary(name="binary")):
        codec.fit(corpus)
        codec.encode_corpus(corpus)
        seconds, peak = measure(lambda: nearest(codec, asked, k), repeats)
        click.echo(f"{'nearest, chunked (' + codec.name + ')':32} {seconds:6.2f} s  peak {peak:7.1f} MiB  "
                   f"{seconds / raw_seconds:.2f}x")


if __name__ == "__main__":
    main()
