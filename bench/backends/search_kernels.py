"""One-query search latency over a faiss index of the vectors a codec stores, where the profile has a faiss
kernel for that codec (flat float, binary Hamming, 8-bit scalar quantization); otherwise over the numpy
search that scored the task ("nominal"). The scores always come from that numpy search."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from bench.kernels import NOMINAL
from bench.methods.embed.codecs import Binary, Codec, Int8, nearest

FLOAT_CODECS = ("float", "truncate", "pca", "rp")  # what they store is float32 vectors, searched by inner product


def _faiss_search(codec: Codec, kernels: list[str]) -> tuple[str, Callable[[np.ndarray, int], object]] | None:
    import faiss

    name = codec.name.split(":")[0]
    if isinstance(codec, Binary) and not codec.rescore and "faiss_binary" in kernels:
        index = faiss.IndexBinaryFlat(8 * codec.stored.shape[1])
        index.add(np.ascontiguousarray(codec.stored))
        return "faiss_binary", lambda q, k: index.search(np.packbits(q > 0, axis=1), k)
    if isinstance(codec, Int8) and "faiss_int8" in kernels:
        corpus = codec.decode(codec.stored)
        index = faiss.IndexScalarQuantizer(corpus.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index.train(corpus)
        index.add(corpus)
        return "faiss_int8", lambda q, k: index.search(q, k)
    if name in FLOAT_CODECS and codec.stored.dtype == np.float32 and "faiss_flat" in kernels:
        index = faiss.IndexFlatIP(codec.stored.shape[1])
        index.add(np.ascontiguousarray(codec.stored))
        return "faiss_flat", lambda q, k: index.search(np.ascontiguousarray(codec.prepare(q), dtype=np.float32), k)
    return None


def query_latencies(codec: Codec, queries: np.ndarray, top_k: int, kernels: list[str], n: int
                    ) -> tuple[str, list[float]]:
    """(kernel, milliseconds per query) for the first `n` queries, one at a time, after one untimed query."""
    found = _faiss_search(codec, kernels)
    kernel, search = found if found else (NOMINAL, lambda q, k: nearest(codec, q, k))
    k = min(top_k, len(codec.stored))
    search(queries[:1], k)  # warm-up
    times = []
    for i in range(min(len(queries), n)):
        started = time.perf_counter()
        search(queries[i:i + 1], k)
        times.append(1000 * (time.perf_counter() - started))
    return kernel, times
