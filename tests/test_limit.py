"""LIMIT: the generator's invariants, the free-embedding search, and tiny end-to-end runs."""

import itertools
import json
import math
import random
import re

import pytest
import torch

from bench import BenchError
from bench.backends import limit
from bench.backends.limit import (CONSTRAINTS, Embeddings, WarmSearch, critical_n, loss_and_gradients, polynomial_fit,
                                  solved_queries, top_k_sets)
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
    n, trials = critical_n(lambda n: n <= 300, known=250, resolution=0.02)  # stops within 2% of n
    assert n == 297 and trials[-1] == (301, False) and len(trials) == 9  # 300 - 297 <= 2% of 297


def test_success_means_every_relevant_document_strictly_above_the_rest():
    sets = top_k_sets(4)
    assert sets.tolist() == [list(pair) for pair in itertools.combinations(range(4), 2)]
    scores = torch.zeros(6, 4).scatter_(1, sets, 1.0)
    assert solved_queries(scores.clone(), sets).all()
    scores[0, 2] = 1.0  # a tie with a relevant document fails
    assert solved_queries(scores.clone(), sets).tolist() == [False] + [True] * 5


def test_constraints_keep_what_compression_keeps():
    unit = torch.nn.functional.normalize(torch.randn(50, 8), dim=1)
    binary = CONSTRAINTS.get("binary")(unit)
    assert torch.allclose(binary * math.sqrt(8), torch.sign(unit))
    levels = CONSTRAINTS.get("int8")(unit) * 127.5 + 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-3) and levels.min() >= 0 and levels.max() <= 255
    assert (CONSTRAINTS.get("int8")(unit) - unit).abs().max() <= 1 / 255 + 1e-6


def test_d_one_hot_sign_codes_solve_d_documents():
    # Document i: bit i set; the query for {i, j}: bits i and j. Hamming distance 1 to both, 3 to the rest.
    # A known binary construction, so the binary search's lower bound can be compared with one.
    dims = 6
    sets = top_k_sets(dims)
    docs = torch.eye(dims) * 2 - 1
    queries = torch.zeros(len(sets), dims).scatter_(1, sets, 1.0) * 2 - 1
    binary = CONSTRAINTS.get("binary")
    unit = torch.nn.functional.normalize
    assert solved_queries(binary(unit(queries, dim=1)) @ binary(unit(docs, dim=1)).T, sets).all()
    wide = Embeddings(queries, docs).widened(dims + 2, torch.Generator())  # a solution stays one, wider
    assert solved_queries(binary(unit(wide.queries, dim=1)) @ binary(unit(wide.docs, dim=1)).T, sets).all()
    int8 = CONSTRAINTS.get("int8")
    assert solved_queries(int8(unit(wide.queries, dim=1)) @ int8(unit(wide.docs, dim=1)).T, sets).all()


@pytest.mark.parametrize("constraint", ["float", "binary", "int8"])
def test_hand_written_gradients_match_autograd_with_straight_through_constraints(constraint, monkeypatch):
    monkeypatch.setattr(limit, "CACHE_FLOATS", 12)  # several blocks of queries
    generator = torch.Generator().manual_seed(1)
    queries, docs = torch.randn(10, 3, dtype=torch.float64, generator=generator), torch.randn(5, 3, dtype=torch.float64,
                                                                                              generator=generator)
    sets, keep = top_k_sets(5), CONSTRAINTS.get(constraint)
    loss, grad_q, grad_d, solved = loss_and_gradients(queries, docs, sets, keep, temperature=0.1, check=True)

    def forward(x):  # the constraint forward, the identity backward
        unit = torch.nn.functional.normalize(x, dim=1)
        return unit + (keep(unit) - unit).detach()

    q, d = queries.clone().requires_grad_(), docs.clone().requires_grad_()
    scores = forward(q) @ forward(d).T
    expected = -torch.log_softmax(scores / 0.1, dim=1).gather(1, sets).mean()
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-9)
    assert torch.allclose(grad_q, q.grad, atol=1e-12) and torch.allclose(grad_d, d.grad, atol=1e-12)
    assert solved.tolist() == solved_queries(scores.detach(), sets).tolist()


def test_growing_keeps_the_solved_queries_and_widening_keeps_the_scores():
    generator = torch.Generator().manual_seed(0)
    small = Embeddings(torch.randn(6, 3, generator=generator), torch.randn(4, 3, generator=generator))
    grown = small.grown(6, 2, generator)
    assert grown.docs.shape == (6, 3) and grown.queries.shape == (15, 3) and torch.equal(grown.docs[:4], small.docs)
    old_sets = (top_k_sets(6) < 4).all(dim=1)
    assert torch.equal(grown.queries[old_sets], small.queries)
    assert torch.allclose(grown.queries[~old_sets][0], grown.docs[[0, 4]].div(grown.docs[[0, 4]].norm(dim=1,
                                                                                                       keepdim=True)).mean(0))
    wide = small.widened(5, generator)
    unit = torch.nn.functional.normalize
    assert wide.docs.shape == (4, 5)
    assert torch.allclose(unit(wide.queries, dim=1) @ unit(wide.docs, dim=1).T,
                          unit(small.queries, dim=1) @ unit(small.docs, dim=1).T, atol=1e-4)


def test_two_dimensions_serve_three_documents_but_not_four():
    # On a circle a query's two nearest documents are neighbours: 4 documents have 2 non-adjacent pairs.
    settings = dict(temperatures=[0.05, 0.1], restarts=2, seed=0, max_steps=2000, patience=300, lr=0.01, check_every=5)
    on_circle = WarmSearch(2, CONSTRAINTS.get("float"), None, **settings)
    assert on_circle(3) and on_circle.best.docs.shape == (3, 2)
    assert not on_circle(4)
    on_sphere = WarmSearch(3, CONSTRAINTS.get("float"), on_circle.best.widened(3, torch.Generator()), **settings)
    assert on_sphere(4)


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
    bm25 = [p for p in (tmp_path / "mteb__baseline-bm25s").rglob("*.json") if not p.name.endswith(".items.json")]
    assert [p.relative_to(tmp_path).as_posix() for p in bm25] == ["mteb__baseline-bm25s/dense/cpu-2c/limit_small.json"]
    from bench.schema import load_result

    lexical = load_result(bm25[0])
    assert lexical.main_score == 1.0 and lexical.model.n_params == 0  # the queried word is in both documents

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))  # searched here, not read from an earlier run
    run(RunRequest(method="dense", tasks=["limit_free_embedding"], out=tmp_path, limit=1), **quiet)
    free = load_result(tmp_path / "free-embedding/dense/cpu-2c/limit_free_embedding.json")
    assert free.metrics["critical_n_d2"] == 3 and free.main_score == 3 and free.task.n_items == 1
    assert {"critical_n_d2_int8", "critical_n_d2_binary", "kept_binary"} <= set(free.metrics)
    assert [(p.protocol, p.precision, p.d, p.critical_n) for p in free.ceilings] == [
        ("best_found", "float32", 2, 3), ("best_found", "int8", 2, free.metrics["critical_n_d2_int8"]),
        ("best_found", "binary", 2, free.metrics["critical_n_d2_binary"])]
    (searches,) = (tmp_path / "cache" / "free_embedding").glob("*.json")  # kept per search, for resuming
    assert json.loads(searches.read_text())["float:2"]["n"] == 3
    from bench.validate import check_root

    # the encoder, its binary variant, BM25 and free embeddings (the search's cache/ is this test's own)
    assert [f for f in check_root(tmp_path).findings if not f.path.startswith("cache/")] == []
