"""LIMIT: the generator's invariants, the free-embedding search, and tiny end-to-end runs."""

import itertools
import json
import math
import random
import re

import pytest
import torch

from bench import BenchError
from bench.backends.limit import CONSTRAINTS, critical_n, optimise, pair_qrels, polynomial_fit, solved_queries
from bench.recipes.limit import limit_retrieval, qrel_pairs
from bench.runner import RunRequest, run

LIKES = re.compile(r"^(?P<name>[A-Z][\w'-]* [A-Z][\w'-]*) likes (?P<items>.+)\.$")


def liked_items(text: str) -> tuple[str, list[str]]:
    match = LIKES.match(text)
    head, _, last = match["items"].rpartition(" and ")
    return match["name"], head.split(", ") + [last]


@pytest.mark.parametrize("pattern", ["dense", "random", "cycle", "disjoint"])
def test_every_query_has_exactly_its_two_documents_and_only_they_like_its_item(pattern):
    data = limit_retrieval(n_docs=90, n_queries=40, pattern=pattern, items_per_doc=12, filler_items=30, seed=7)
    corpus, queries, qrels = data["corpus"], data["queries"], data["qrels"]
    assert len(corpus) == 90 and len(queries) == 40
    likes = {}
    for doc in corpus:
        name, items = liked_items(doc["text"])
        assert name == doc["id"] and len(items) == len(set(items)) >= 12
        likes[doc["id"]] = set(items)
    relevant = {}
    for row in qrels:
        relevant.setdefault(row["query_id"], set()).add(row["doc_id"])
    assert set(relevant) == {q["id"] for q in queries}
    assert all(len(docs) == 2 for docs in relevant.values())
    assert len({frozenset(docs) for docs in relevant.values()}) == 40  # every query its own pair
    for query in queries:
        item = query["text"].removeprefix("Who likes ").removesuffix("?")
        assert {doc for doc, items in likes.items() if item in items} == relevant[query["id"]]


def test_dense_pattern_covers_pairs_of_the_smallest_document_set():
    pairs = qrel_pairs("dense", 50_000, 1000, random.Random(0))
    assert len(set(pairs)) == 1000 and {d for pair in pairs for d in pair} == set(range(46))  # C(46,2) = 1035
    assert len(set(qrel_pairs("dense", 46, 1035, random.Random(0)))) == 1035
    with pytest.raises(BenchError, match="needs 46 documents"):
        qrel_pairs("dense", 45, 1000, random.Random(0))
    with pytest.raises(BenchError, match="disjoint pattern needs 2000"):
        qrel_pairs("disjoint", 1999, 1000, random.Random(0))


def test_generator_is_deterministic_by_seed_and_relevant_documents_are_not_listed_first():
    args = dict(n_docs=200, n_queries=10, pattern="dense", items_per_doc=10, filler_items=40)
    first, again, other = (limit_retrieval(**args, seed=s) for s in (1, 1, 2))
    assert first == again and first["corpus"] != other["corpus"]
    relevant = {row["doc_id"] for row in first["qrels"]}
    positions = [i for i, doc in enumerate(first["corpus"]) if doc["id"] in relevant]
    assert len(positions) == 5 and positions != list(range(5))


def test_critical_n_gallops_then_bisects():
    n, trials = critical_n(lambda n: n <= 37)
    assert n == 37 and [t for t, _ in trials] == [3, 5, 9, 17, 33, 65, 49, 41, 37, 39, 38]
    assert critical_n(lambda n: n <= 3) == (3, [(3, True), (5, False), (4, False)])
    assert critical_n(lambda n: n <= 40, known=37) == (40, [(38, True), (40, True), (44, False), (42, False),
                                                           (41, False)])


def test_success_means_every_relevant_document_strictly_above_the_rest():
    relevant = pair_qrels(4)
    assert relevant.shape == (6, 4) and (relevant.sum(dim=1) == 2).all()
    scores = torch.where(relevant, 1.0, 0.0)
    assert solved_queries(scores, relevant).all()
    scores[0, 2] = 1.0  # a tie with a relevant document fails
    assert solved_queries(scores, relevant).tolist() == [False] + [True] * 5


def test_constraints_keep_what_compression_keeps_and_pass_gradients_straight_through():
    x = torch.tensor([[3.0, -4.0, 0.5]], requires_grad=True)
    binary = CONSTRAINTS.get("binary")(x)
    assert torch.allclose(binary, torch.tensor([[1.0, -1.0, 1.0]]) / math.sqrt(3))
    binary.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    levels = CONSTRAINTS.get("int8")(torch.randn(50, 8)) * 127.5 + 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-3)


def test_two_dimensions_serve_three_documents_but_not_four():
    # On a circle a query's two nearest documents are neighbours: 4 documents have 2 non-adjacent pairs.
    settings = dict(max_steps=2000, patience=300, lr=0.05, temperature=0.1, check_every=25, seed=0)
    assert optimise(3, 2, CONSTRAINTS.get("float"), **settings)
    assert not optimise(4, 2, CONSTRAINTS.get("float"), **settings)
    assert optimise(4, 3, CONSTRAINTS.get("float"), **settings) or optimise(4, 3, CONSTRAINTS.get("float"),
                                                                              **{**settings, "seed": 1})


def test_polynomial_fit_recovers_a_cubic():
    dims = list(range(2, 9))
    assert polynomial_fit(dims, [1 + 2 * d + 0.5 * d**3 for d in dims]) == pytest.approx([1, 2, 0, 0.5], abs=1e-6)


def test_limit_suite_end_to_end_on_a_tiny_encoder_bm25_and_free_embeddings(tiny_encoder_dir, tmp_path, monkeypatch):
    quiet = dict(log=lambda _line: None)
    encoder = run(RunRequest(method="dense", model=str(tiny_encoder_dir), tasks=["limit_small"], out=tmp_path,
                             limit=5, embed="binary"), **quiet)
    (pair,) = encoder
    assert pair.compressed.method.slug == "dense+binary" and pair.compressed.vectors.dims == 32
    assert pair.compressed.main_metric == "recall_at_2" and 0 <= pair.compressed.main_score <= 1
    assert set(pair.dense.metrics) == {"recall_at_2", "recall_at_10", "recall_at_100", "ndcg_at_10"}

    run(RunRequest(model="bm25", tasks=["limit_small"], out=tmp_path, limit=5), **quiet)  # default method: wanda
    bm25 = list((tmp_path / "mteb__baseline-bm25s").rglob("*.json"))
    assert [p.relative_to(tmp_path).as_posix() for p in bm25] == ["mteb__baseline-bm25s/dense/cpu-2c/limit_small.json"]
    from bench.schema import load_result

    lexical = load_result(bm25[0])
    assert lexical.main_score == 1.0 and lexical.model.n_params == 0  # the queried word is in both documents

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))  # searched here, not read from an earlier run
    run(RunRequest(method="dense", tasks=["limit_free_embedding"], out=tmp_path, limit=1), **quiet)
    free = load_result(tmp_path / "free-embedding/dense/cpu-2c/limit_free_embedding.json")
    assert free.metrics["critical_n_d2"] == 3 and free.main_score == 3 and free.task.n_items == 1
    assert {"critical_n_d2_int8", "critical_n_d2_binary", "kept_binary"} <= set(free.metrics)
    (searches,) = (tmp_path / "cache" / "free_embedding").glob("*.json")  # kept per search, for resuming
    assert json.loads(searches.read_text())["float:2"]["n"] == 3


def test_pair_qrels_match_itertools():
    relevant = pair_qrels(5)
    assert [tuple(row.nonzero().flatten().tolist()) for row in relevant] == list(itertools.combinations(range(5), 2))
