"""LIMIT (Weller et al. 2025, "On the Theoretical Limitations of Embedding-Based Retrieval").

Documents "{Name} likes a, b, ... and z.", queries "Who likes X?", and qrels in which every query has
exactly two relevant documents: the two people who like X, and nobody else does. With the dense
pattern the relevant documents are the smallest set whose pairs cover the queries (46 documents give
C(46,2) = 1035 >= 1000), so an embedding must return every one of those top-2 sets. Any other
documents are distractors that like only filler items, never a queried one. Names come from Faker's
lists and items from wonderwords' nouns, both installed packages, chosen by seed.
"""

from __future__ import annotations

import itertools
import math
import random

from bench import BenchError, corpora
from bench.recipes import RECIPES, Rows

PATTERNS = ("dense", "random", "cycle", "disjoint")


def qrel_pairs(pattern: str, n_docs: int, n_queries: int, rng: random.Random) -> list[tuple[int, int]]:
    """The two relevant documents (indices into n_docs) of each query, in the paper's four patterns."""
    if pattern == "dense":  # every pair of the smallest document set that has enough pairs
        needed = next(n for n in itertools.count(2) if math.comb(n, 2) >= n_queries)
        if needed > n_docs:
            raise BenchError(f"the dense pattern needs {needed} documents for {n_queries} queries, got {n_docs}")
        return list(itertools.islice(itertools.combinations(range(needed), 2), n_queries))
    if pattern == "random":  # distinct pairs drawn uniformly from all documents
        if math.comb(n_docs, 2) < n_queries:
            raise BenchError(f"{n_docs} documents have fewer than {n_queries} distinct pairs")
        pairs: dict[tuple[int, int], None] = {}
        while len(pairs) < n_queries:
            a, b = sorted(rng.sample(range(n_docs), 2))
            pairs[(a, b)] = None
        return list(pairs)
    if pattern == "cycle":  # query i -> documents i and i+1, wrapping around
        if n_docs < max(n_queries, 3):
            raise BenchError(f"the cycle pattern needs at least as many documents as queries ({n_queries})")
        return [(i, (i + 1) % n_docs) for i in range(n_queries)]
    if pattern == "disjoint":  # query i -> its own two documents
        if n_docs < 2 * n_queries:
            raise BenchError(f"the disjoint pattern needs {2 * n_queries} documents for {n_queries} queries")
        return [(2 * i, 2 * i + 1) for i in range(n_queries)]
    raise BenchError(f"unknown qrel pattern {pattern!r}: one of {', '.join(PATTERNS)}")


@RECIPES.register("limit_retrieval")
def limit_retrieval(n_docs: int, n_queries: int, pattern: str, items_per_doc: int, filler_items: int,
                    seed: int) -> dict[str, Rows]:
    if items_per_doc < 1:
        raise BenchError("items_per_doc must be at least 1")
    rng = random.Random(seed)
    pairs = qrel_pairs(pattern, n_docs, n_queries, rng)
    nouns = list(corpora.nouns())
    if len(nouns) < n_queries + filler_items:
        raise BenchError(f"{len(nouns)} nouns are too few for {n_queries} queries and {filler_items} fillers")
    rng.shuffle(nouns)
    queried, filler = nouns[:n_queries], nouns[n_queries : n_queries + filler_items]

    liked: list[list[str]] = [[] for _ in range(n_docs)]
    for item, pair in zip(queried, pairs):
        for doc in pair:
            liked[doc].append(item)
    for items in liked:  # pad to items_per_doc with fillers, then mix them in
        items += rng.sample(filler, max(0, items_per_doc - len(items)))
        rng.shuffle(items)

    first, last = corpora.person_names()
    people = rng.sample(range(len(first) * len(last)), n_docs)  # distinct (first, last) pairs
    names = [f"{first[i // len(last)]} {last[i % len(last)]}" for i in people]
    order = list(range(n_docs))
    rng.shuffle(order)  # relevant documents are not the first ones: ties must not favour them
    corpus = [{"id": names[d], "title": "", "text": _likes(names[d], liked[d])} for d in order]
    queries = [{"id": f"q{q}", "text": f"Who likes {item}?"} for q, item in enumerate(queried)]
    qrels = [{"query_id": f"q{q}", "doc_id": names[d], "score": 1} for q, pair in enumerate(pairs) for d in pair]
    return {"corpus": corpus, "queries": queries, "qrels": qrels}


def _likes(name: str, items: list[str]) -> str:
    return f"{name} likes {', '.join(items[:-1])} and {items[-1]}." if len(items) > 1 else f"{name} likes {items[0]}."


@RECIPES.register("free_embedding_grid")
def free_embedding_grid(min_dims: int, max_dims: int) -> dict[str, Rows]:
    """The dimensions whose critical n the free-embedding experiment searches, one row each."""
    return {"test": [{"dims": d} for d in range(min_dims, max_dims + 1)]}


@RECIPES.register("limit_construction_grid")
def limit_construction_grid(ks: list[int]) -> dict[str, Rows]:
    """The k (documents per query; d = 2k) whose constructive ceiling is measured, one row each."""
    return {"test": [{"k": k} for k in ks]}
