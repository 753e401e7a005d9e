"""Compressed embedding vectors: pure codecs fitted on the corpus, and the scores they give.

Each codec turns float vectors (rows L2-normalised, so a dot product is the cosine) into what an
index would store, and scores queries against it the way that index would search.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench import BenchError


def normalize(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


@dataclass
class Codec:
    """The identity: float32 vectors, cosine similarity."""

    name: str = "float"
    stored: np.ndarray = field(default=None, repr=False)

    def fit(self, corpus: np.ndarray) -> None:
        """Learn whatever the codec needs from the corpus vectors (never from the queries)."""

    def min_documents(self) -> int:
        """The fewest corpus vectors `fit` can learn from: a run plans the codec only for corpora that have them."""
        return 1

    def encode_corpus(self, corpus: np.ndarray) -> None:
        self.stored = self.transform(corpus)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float32)

    def prepare(self, queries: np.ndarray) -> np.ndarray:
        """Queries as the index compares them (done once per search, not per chunk)."""
        return self.transform(queries)

    def block(self, prepared: np.ndarray, start: int, stop: int) -> np.ndarray:
        """(queries, documents start..stop) similarities; higher is better."""
        return prepared @ self.stored[start:stop].T

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """Similarities to the whole corpus at once (small corpora; `nearest` streams large ones)."""
        return self.block(self.prepare(queries), 0, len(self.stored))

    def candidates(self, k: int) -> int:
        """How many documents per query the first pass keeps for `rerank`."""
        return k

    def rerank(self, queries: np.ndarray, top: np.ndarray, top_scores: np.ndarray) -> np.ndarray:
        """Scores for the first pass's best documents (`top`, best first); the default keeps them."""
        return top_scores

    def bytes_per_vector(self) -> float:
        return self.stored.shape[1] * self.stored.itemsize

    def overhead_bytes(self) -> int:
        """Bytes the index needs beyond the vectors (ranges, codebooks, projections)."""
        return 0


def nearest(codec: Codec, queries: np.ndarray, k: int, max_block: int = 1 << 24) -> tuple[np.ndarray, np.ndarray]:
    """The k best documents of each query (indices and scores, best first), scoring at most `max_block`
    similarities at a time so that memory stays bounded on large corpora: blocks of queries against
    the whole corpus when it fits (no merging), else chunks of the corpus with a running top k."""
    n_docs, n_queries = len(codec.stored), len(queries)
    keep = min(codec.candidates(k), n_docs)
    chunk = min(n_docs, max(keep, max_block))
    rows = max(1, max_block // chunk)
    prepared = codec.prepare(queries)
    found, found_scores = [], []
    for first in range(0, n_queries, rows):
        block = prepared[first : first + rows]
        best = np.empty((len(block), 0), dtype=np.int64)
        best_scores = np.empty((len(block), 0), dtype=np.float32)
        for start in range(0, n_docs, chunk):
            columns, scores = _best(codec.block(block, start, min(start + chunk, n_docs)).astype(np.float32, copy=False), keep)
            merged = np.concatenate([best, columns + start], 1)
            columns, best_scores = _best(np.concatenate([best_scores, scores], 1), keep)
            best = np.take_along_axis(merged, columns, 1)
        found.append(best)
        found_scores.append(best_scores)
    best, best_scores = np.concatenate(found), np.concatenate(found_scores)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    best, best_scores = np.take_along_axis(best, order, 1), np.take_along_axis(best_scores, order, 1)
    best_scores = codec.rerank(queries, best, best_scores)
    order = np.argsort(-best_scores, axis=1, kind="stable")[:, : min(k, n_docs)]
    return np.take_along_axis(best, order, 1), np.take_along_axis(best_scores, order, 1)


def _best(scores: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """The columns of the `keep` highest scores of each row (unordered), and those scores."""
    if scores.shape[1] <= keep:
        return np.broadcast_to(np.arange(scores.shape[1]), scores.shape), scores
    columns = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
    return columns, np.take_along_axis(scores, columns, 1)


@dataclass
class Truncate(Codec):
    """Matryoshka: keep the first `dims` dimensions, renormalised."""

    dims: int = 64

    def transform(self, x: np.ndarray) -> np.ndarray:
        return normalize(x[:, : self.dims]).astype(np.float32)


@dataclass
class Int8(Codec):
    """Scalar quantization to uint8 with one range per dimension, calibrated once on the corpus and
    shared with the queries (queries outside the range are clipped)."""

    low: np.ndarray = field(default=None, repr=False)
    step: np.ndarray = field(default=None, repr=False)

    def fit(self, corpus: np.ndarray) -> None:
        self.low = corpus.min(axis=0)
        self.step = np.maximum(corpus.max(axis=0) - self.low, 1e-12) / 255

    def codes(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.round((x - self.low) / self.step), 0, 255).astype(np.uint8)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return (codes.astype(np.float32) * self.step + self.low).astype(np.float32)

    def encode_corpus(self, corpus: np.ndarray) -> None:
        self.stored = self.codes(corpus)

    def prepare(self, queries: np.ndarray) -> np.ndarray:
        return self.decode(self.codes(queries))

    def block(self, prepared: np.ndarray, start: int, stop: int) -> np.ndarray:
        # q . (codes x step + low) = (q x step) . codes + q . low: the corpus is read as codes, never
        # decoded, as an int8 index would do (one conversion to float for BLAS).
        codes = self.stored[start:stop].astype(np.float32)
        return (prepared * self.step) @ codes.T + (prepared @ self.low)[:, None]

    def overhead_bytes(self) -> int:
        return 2 * 4 * len(self.low)


def pack_signs(x: np.ndarray) -> np.ndarray:
    """One bit per dimension (1 where positive), packed 8 to a byte."""
    return np.packbits(x > 0, axis=1)


POPCOUNT_BYTES = 1 << 24  # largest XOR intermediate (queries x documents x bytes) scored by popcount


def unpack_signs(bits: np.ndarray) -> np.ndarray:
    """Packed bits as +1/-1 floats (padding bits included; they agree between any two vectors)."""
    return np.unpackbits(bits, axis=1).astype(np.float32) * 2 - 1


@dataclass
class Binary(Codec):
    """Sign bits and Hamming search; with `rescore` > 0 the top `rescore` documents of each query are
    re-ranked by the float query against their int8 vectors (kept on disk, as in
    sentence-transformers' quantized retrieval), above the rest of the Hamming ranking."""

    rescore: int = 0
    int8: Int8 = field(default_factory=Int8, repr=False)

    def fit(self, corpus: np.ndarray) -> None:
        if self.rescore:
            self.int8.fit(corpus)
            self.int8.encode_corpus(corpus)

    def encode_corpus(self, corpus: np.ndarray) -> None:
        self.stored = pack_signs(corpus)

    def prepare(self, queries: np.ndarray) -> np.ndarray:
        return unpack_signs(pack_signs(queries))

    def block(self, prepared: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Minus the Hamming distance: XOR and popcount on the packed bits for a few queries (what an
        index does per search); for many, one BLAS product of +1/-1 vectors, distance = (bits - dot) / 2,
        which beats expanding queries x documents x bytes."""
        stored = self.stored[start:stop]
        if len(prepared) * stored.size <= POPCOUNT_BYTES:
            query_bits = np.packbits(prepared > 0, axis=1)
            return -np.bitwise_count(query_bits[:, None, :] ^ stored[None]).sum(axis=2, dtype=np.int32)
        return (prepared @ unpack_signs(stored).T - prepared.shape[1]) / 2

    def candidates(self, k: int) -> int:
        return max(k, self.rescore)

    def rerank(self, queries: np.ndarray, top: np.ndarray, top_scores: np.ndarray) -> np.ndarray:
        if not self.rescore:
            return top_scores
        head = top[:, : self.rescore]
        exact = np.einsum("qd,qkd->qk", queries, self.int8.decode(self.int8.stored[head]))
        rescored = top_scores.copy()
        rescored[:, : head.shape[1]] = exact + 8 * self.stored.shape[1] + 2  # above every Hamming score (>= -bits)
        return rescored

    def bytes_per_vector(self) -> float:
        return self.stored.shape[1]


@dataclass
class PCA(Codec):
    """Project onto the corpus's top `dims` principal components, renormalised."""

    dims: int = 64
    mean: np.ndarray = field(default=None, repr=False)
    components: np.ndarray = field(default=None, repr=False)

    def min_documents(self) -> int:
        return self.dims

    def fit(self, corpus: np.ndarray) -> None:
        if self.dims > min(corpus.shape):
            raise BenchError(f"pca:{self.dims} needs at least {self.dims} corpus vectors and dimensions")
        self.mean = corpus.mean(axis=0)
        self.components = np.linalg.svd(corpus - self.mean, full_matrices=False)[2][: self.dims]

    def transform(self, x: np.ndarray) -> np.ndarray:
        return normalize((x - self.mean) @ self.components.T).astype(np.float32)

    def overhead_bytes(self) -> int:
        return 4 * (self.components.size + self.mean.size)


@dataclass
class ProductQuantization(Codec):
    """faiss product quantization: `subvectors` codes per vector; queries stay float and are scored
    against the decoded documents (asymmetric distance). Codebooks of 2^bits centroids, with bits
    lowered below 8 when the corpus is too small to train 256 of them."""

    subvectors: int = 16
    bits: int = 8
    quantizer: object = field(default=None, repr=False)

    def min_documents(self) -> int:
        return 2  # two centroids, one bit per code

    def fit(self, corpus: np.ndarray) -> None:
        import faiss

        if corpus.shape[1] % self.subvectors:
            raise BenchError(f"pq:{self.subvectors} must divide the embedding width {corpus.shape[1]}")
        self.bits = int(min(8, np.floor(np.log2(len(corpus)))))
        self.quantizer = faiss.ProductQuantizer(corpus.shape[1], self.subvectors, self.bits)
        self.quantizer.train(np.ascontiguousarray(corpus, dtype=np.float32))

    def encode_corpus(self, corpus: np.ndarray) -> None:
        self.stored = self.quantizer.compute_codes(np.ascontiguousarray(corpus, dtype=np.float32))

    def block(self, prepared: np.ndarray, start: int, stop: int) -> np.ndarray:
        return prepared @ self.quantizer.decode(np.ascontiguousarray(self.stored[start:stop])).T

    def bytes_per_vector(self) -> float:
        return self.subvectors * self.bits / 8

    def overhead_bytes(self) -> int:
        return 4 * self.quantizer.centroids.size()


@dataclass
class RandomProjection(Codec):
    """Very sparse random projection (Li et al. 2006, scikit-learn) to `dims`, renormalised."""

    dims: int = 64
    seed: int = 0
    projection: object = field(default=None, repr=False)

    def fit(self, corpus: np.ndarray) -> None:
        from sklearn.random_projection import SparseRandomProjection

        self.projection = SparseRandomProjection(self.dims, random_state=self.seed, dense_output=True).fit(corpus)

    def transform(self, x: np.ndarray) -> np.ndarray:
        return normalize(self.projection.transform(x)).astype(np.float32)

    def overhead_bytes(self) -> int:
        return int(self.projection.components_.nnz * 8)
