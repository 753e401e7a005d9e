"""Benchmark (`make bench`): chunked top-k search at LIMIT's scale vs one raw matmul + top-k.

LIMIT scores 1000 queries against 50,000 documents. `nearest` scores blocks of at most 2^24
similarities (blocks of queries against the whole corpus; chunks of the corpus too when it is larger)
so that memory stays bounded. This prints, side by side in one run (interleaved repeats), the time and
peak memory of the raw float search (the whole score matrix, then argpartition and a sort of the top
k) and of `nearest` with each codec on the same vectors (random unit vectors of MiniLM's width: the
cost does not depend on what they encode). Target: float `nearest` at most 1.2x the raw search.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Callable

import click
import numpy as np

from bench.methods.embed.codecs import Binary, Codec, Int8, nearest, normalize


def raw_search(queries: np.ndarray, docs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ docs.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top_scores = np.take_along_axis(scores, top, 1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    return np.take_along_axis(top, order, 1), np.take_along_axis(top_scores, order, 1)


def peak_mib(work: Callable[[], object]) -> float:
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


@click.command()
@click.option("--docs", default=50_000, show_default=True)
@click.option("--queries", default=1000, show_default=True)
@click.option("--dims", default=384, show_default=True)
@click.option("--k", default=1000, show_default=True, help="mteb asks for the top max(k_values) = 1000")
@click.option("--repeats", default=5, show_default=True)
def main(docs: int, queries: int, dims: int, k: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    corpus = normalize(rng.standard_normal((docs, dims), dtype=np.float32))
    asked = normalize(rng.standard_normal((queries, dims), dtype=np.float32))
    searches: dict[str, Callable[[], object]] = {"raw matmul + top-k (float)": lambda: raw_search(asked, corpus, k)}
    for codec in (Codec(), Int8(name="int8"), Binary(name="binary")):
        codec.fit(corpus)
        codec.encode_corpus(corpus)
        searches[f"nearest, chunked ({codec.name})"] = lambda codec=codec: nearest(codec, asked, k)
    peaks = {label: peak_mib(work) for label, work in searches.items()}
    seconds: dict[str, list[float]] = {label: [] for label in searches}
    for _ in range(repeats):  # interleaved, so a busy moment on the machine hits every search alike
        for label, work in searches.items():
            started = time.perf_counter()
            work()
            seconds[label].append(time.perf_counter() - started)
    raw = min(seconds["raw matmul + top-k (float)"])
    click.echo(f"{queries} queries x {docs} documents, {dims} dims, top {k}; best of {repeats}, interleaved")
    for label, times in seconds.items():
        click.echo(f"{label:32} {min(times):6.2f} s  peak {peaks[label]:7.1f} MiB  {min(times) / raw:.2f}x")


if __name__ == "__main__":
    main()
