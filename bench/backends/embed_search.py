"""Compressed embedding vectors through mteb: encode once, then search each codec's index.

mteb computes every retrieval metric; we give it a search object (its SearchProtocol) that scores
queries against what a compressed index would hold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from mteb.models.model_meta import ModelMeta

from bench import BenchError
from bench.backends import TaskOutcome
from bench.backends.mteb import offline_or_upstream, run_mteb
from bench.methods.embed import VectorVariant
from bench.methods.embed.codecs import Codec, nearest, normalize
from bench.backends.search_kernels import query_latencies
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.schema import VectorFacts
from bench.taskspec import TaskSpec


class EmbeddingCache:
    """Each text is encoded once per model: every codec reuses the vectors (L2-normalised)."""

    def __init__(self, encoder, batch_size: int) -> None:
        self.encoder, self.batch_size = encoder, batch_size
        self.vectors: dict[tuple[str, str], np.ndarray] = {}
        self.encoded = 0  # texts actually run through the model

    def encode(self, texts: list[str], kind: str) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self.vectors]
        if missing:
            prompt = kind if kind in (getattr(self.encoder, "prompts", None) or {}) else None
            out = self.encoder.encode(missing, batch_size=self.batch_size, prompt_name=prompt,
                                      convert_to_numpy=True, show_progress_bar=False)
            self.vectors.update(zip(((kind, t) for t in missing), normalize(out.astype(np.float32))))
            self.encoded += len(missing)
        return np.stack([self.vectors[(kind, t)] for t in texts])


class VectorSearch:
    """mteb's SearchProtocol: exact search of one codec's index over cached embeddings, by `nearest`
    (at most 2^24 scores at once: bounded memory on LIMIT's 50,000 documents)."""

    mteb_model_meta = ModelMeta.create_empty()

    def __init__(self, cache: EmbeddingCache, codec: Codec, profile: Profile) -> None:
        self.cache, self.codec, self.profile = cache, codec, profile
        self.doc_ids: list[str] = []
        self.kernel, self.latencies_ms = "", []

    def index(self, corpus, **_kwargs) -> None:
        texts = [(f"{row['title']} {row['text']}" if row.get("title") else row["text"]).strip() for row in corpus]
        self.doc_ids = list(corpus["id"])
        vectors = self.cache.encode(texts, "document")
        self.codec.fit(vectors)
        self.codec.encode_corpus(vectors)

    def search(self, queries, *, top_k: int, **_kwargs) -> dict[str, dict[str, float]]:
        vectors = self.cache.encode(list(queries["text"]), "query")
        # one query at a time: what an index would serve
        self.kernel, self.latencies_ms = query_latencies(self.codec, vectors, top_k, self.profile.kernels,
                                                         self.profile.measure.queries)
        top, scores = nearest(self.codec, vectors, top_k)
        return {qid: {self.doc_ids[d]: float(s) for d, s in zip(top[q], scores[q])}
                for q, qid in enumerate(queries["id"])}


@dataclass
class VectorOutcome:
    variant: VectorVariant | None  # None: the float vectors
    outcome: TaskOutcome | None  # None: the variant does not apply to this task (see `skipped`)
    facts: VectorFacts | None
    seconds: float = 0.0  # this variant's evaluation (the first one also encodes every text)
    skipped: str = ""


def evaluate_variants(spec: TaskSpec, encoder, data: TaskData, profile: Profile, limit: int | None,
                      variants: list[VectorVariant | None]) -> list[VectorOutcome]:
    cache = EmbeddingCache(encoder, profile.embed_batch_size)
    results = []
    for variant in variants:
        started = time.perf_counter()
        task, n_queries = offline_or_upstream(spec, data, limit)
        search = VectorSearch(cache, variant.build() if variant else Codec(), profile)
        try:
            outcome = run_mteb(search, task, spec, n_queries)
        except BenchError as err:  # e.g. pca:64 on a 35-document corpus: skip it, keep the others
            results.append(VectorOutcome(variant=variant, outcome=None, facts=None, skipped=str(err)))
            continue
        codec = search.codec
        facts = VectorFacts(codec=variant.slug if variant else "float", dims=_dims(codec),
                            bytes_per_vector=codec.bytes_per_vector(),
                            index_bytes=int(codec.bytes_per_vector() * len(search.doc_ids) + codec.overhead_bytes()),
                            query_latency_ms_p50=float(np.median(search.latencies_ms)),
                            query_latency_ms_p99=float(np.percentile(search.latencies_ms, 99)),
                            search_kernel=search.kernel)
        results.append(VectorOutcome(variant=variant, outcome=outcome, facts=facts,
                                     seconds=time.perf_counter() - started))
    return results


def _dims(codec: Codec) -> int:
    stored = codec.stored
    return int(stored.shape[1] * 8) if codec.name == "binary" else int(stored.shape[1])
