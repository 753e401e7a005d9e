"""Offline task data builders: deterministic, duplicate-free, answers where the prompts need them."""

import pytest

from bench.recipes import RECIPES, build
from bench.recipes.facts import fact_items
from bench.taskspec import TASKS


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_builtin_task_builds_deterministically(task, tmp_path):
    spec = TASKS.get(task)
    first = build(spec.name, spec.recipe, spec.recipe_args, tmp_path / "a")
    again = build(spec.name, spec.recipe, spec.recipe_args, tmp_path / "b")
    assert first.data_hash == again.data_hash
    assert all(first.files[n].read_bytes() == again.files[n].read_bytes() for n in first.files)


def test_fact_qa_has_enough_unique_items_and_disjoint_exemplars():
    data = RECIPES.get("fact_qa")(per_relation=60, n_shots=3, seed=1234)
    questions = [row["question"] for row in data["test"]]
    assert len(questions) == 240 == len(set(questions))
    assert not {row["question"] for row in data["train"]} & set(questions)
    assert {row["relation"] for row in data["train"]} == {"capital", "currency", "symbol"}


def test_open_book_evidence_states_every_answer():
    for row in RECIPES.get("fact_qa")(per_relation=60, n_shots=3, seed=1234)["test"]:
        assert row["answer"] in row["evidence"], row


def test_fact_choice_labels_the_answer_among_same_relation_distractors():
    answers = {relation: {item["answer"] for item in items} for relation, items in fact_items().items()}
    qa = {row["id"]: row for row in RECIPES.get("fact_qa")(per_relation=60, n_shots=0, seed=1234)["test"]}
    rows = RECIPES.get("fact_choice")(per_relation=60, n_choices=4, seed=1234)["test"]
    assert len(rows) == 240
    for row in rows:
        relation = row["id"].split("-")[0]
        assert len(set(row["choices"])) == 4 and set(row["choices"]) <= answers[relation]
        assert row["choices"][row["label"]] == qa[row["id"]]["answer"]


def test_retrieval_queries_come_from_outside_the_documents_they_point_to():
    data = RECIPES.get("wiki_sentence_retrieval")(lead_chars=1000, queries_per_article=2, seed=1234)
    corpus = {doc["id"]: doc["text"] for doc in data["corpus"]}
    assert len(data["queries"]) == len(data["qrels"]) == 2 * len(corpus)
    for query, qrel in zip(data["queries"], data["qrels"]):
        assert qrel["query_id"] == query["id"] and query["text"] not in corpus[qrel["doc_id"]]


def test_summaries_never_show_the_reference_in_the_source():
    rows = RECIPES.get("wiki_summaries")(n_docs=40, source_chars=1200, seed=1234)["test"]
    assert len(rows) == 40 == len({row["title"] for row in rows})
    for row in rows:
        assert row["summary"] not in row["source"] and len(row["source"]) <= 1200


def test_rouge_and_answer_scorers():
    from bench.backends.lm_eval import answer_match, rouge

    assert rouge({"summary": "the cat sat on the mat"}, ["the cat sat on the mat"])["rougeL"] == 1.0
    doc = {"answer": "Paris", "aliases": []}
    assert answer_match(doc, [" paris."]) == {"exact_match": 1.0, "contains": 1.0}
    assert answer_match(doc, [" It is Paris, France"]) == {"exact_match": 0.0, "contains": 1.0}
    assert answer_match(doc, [" Parisian"]) == {"exact_match": 0.0, "contains": 0.0}


def test_lee_pairs_cover_every_pair_once_with_ratings_in_range():
    rows = RECIPES.get("lee_pairs")()["test"]
    assert len(rows) == 50 * 49 // 2
    assert len({(r["sentence1"], r["sentence2"]) for r in rows}) == len(rows)
    assert all(0 <= r["score"] <= 1 for r in rows)
