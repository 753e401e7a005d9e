"""The engines' outputs read the way the engines mean them: lm-eval's `metric,filter` keys, mteb's splits
and subsets, and one line for an engine that cannot run one of its own tasks."""

import pytest

from bench import BenchError
from bench.backends import upstream_errors
from bench.backends.lm_eval import read_metrics
from bench.taskspec import TASKS, TaskSpec, resolve_tasks

FILTERS = [
    {"name": "remove_whitespace", "filter": [{"function": "remove_whitespace"}, {"function": "take_first"}]},
    {"name": "keep", "filter": [{"function": "take_first"}]},
]


def test_an_lm_eval_task_with_filters_keeps_every_metric_filter_pair(tiny_llama_dir):
    from bench.assets import load_model, resolve_model
    from bench.backends.lm_eval import evaluate
    from bench.profiles import PROFILES
    from bench.runner import task_data

    base = TASKS.get("kick_closed_qa")
    spec = TaskSpec(**{**base.model_dump(), "engine": {**base.engine, "filter_list": FILTERS}})
    model = load_model(resolve_model(str(tiny_llama_dir)), PROFILES.get("cpu-2c").torch_dtype, "cpu")
    outcome = evaluate(spec, model, task_data(spec), PROFILES.get("cpu-2c"), limit=3)
    # No main_filter: the first filter lm-eval reports is the main one; the other keeps its own key.
    assert set(outcome.metrics) == {"exact_match", "contains", "exact_match,keep", "contains,keep"}
    assert all(0 <= v <= 1 for v in outcome.metrics.values()) and outcome.n_items == 3


TRIVIAQA_LIKE = {"alias": "triviaqa", "exact_match,remove_whitespace": 0.25,
                 "exact_match_stderr,remove_whitespace": "N/A", "exact_match,none": 0.125, "contains,none": 0.5}


def _spec(**fields) -> TaskSpec:
    return TaskSpec(name="t", description="", backend="lm_eval", model_kind="causal-lm", version=0, upstream="t",
                    main_metric="exact_match", higher_is_better=True, metrics=["exact_match"], **fields)


def test_the_main_metric_is_read_under_the_filter_the_spec_names():
    assert read_metrics(_spec(main_filter="none"), "t", TRIVIAQA_LIKE) == {
        "exact_match": 0.125, "contains": 0.5, "exact_match,remove_whitespace": 0.25}
    assert read_metrics(_spec(), "t", TRIVIAQA_LIKE) == {  # no filter named: the first one reported
        "exact_match": 0.25, "exact_match,none": 0.125, "contains,none": 0.5}


def test_a_main_metric_lm_eval_did_not_report_is_a_one_line_error_naming_what_it_did():
    with pytest.raises(BenchError, match=r"no exact_match,strict-match for task 't'; it reported "
                                         r"exact_match,remove_whitespace, exact_match,none, contains,none$"):
        read_metrics(_spec(main_filter="strict-match"), "t", TRIVIAQA_LIKE)
    with pytest.raises(BenchError, match="no exact_match for task 't'; it reported acc,none"):
        read_metrics(_spec(), "t", {"alias": "t", "acc,none": 0.5})


def test_upstream_lm_eval_tasks_take_their_main_filter_from_their_config():
    specs = resolve_tasks(None, ["triviaqa", "gsm8k", "bbh_cot_fewshot", "arc_easy"])
    # gsm8k has two filters (strict-match, flexible-extract): the first one lm-eval reports is used
    assert [s.main_filter for s in specs] == ["remove_whitespace", None, "get-answer", None]


def test_one_wrapper_turns_an_upstream_engine_failure_into_one_line():
    with pytest.raises(BenchError, match="^mteb task 'SciFact' could not run \\(ConnectionError\\)"):
        with upstream_errors("mteb", "SciFact"):
            raise ConnectionError("no route to the hub")
    with pytest.raises(ConnectionError):  # our own offline task failing is a bug: its traceback stays
        with upstream_errors("lm-eval", None):
            raise ConnectionError("no route")
    with pytest.raises(BenchError, match="^pca:64 needs"):  # our own one-line errors pass unchanged
        with upstream_errors("mteb", "SciFact"):
            raise BenchError("pca:64 needs 64 documents")


TWO_SUBSETS = "BenchTwoSubsetDevRetrieval"
DOCS = ["Paris is the capital of France.", "Copper conducts electricity well.", "The Nile flows north.",
        "Owls hunt at night.", "Bread rises with yeast."]


def two_subset_dev_task():
    """A retrieval task evaluated on `dev` with two subsets: in `exact` every query is the text of its
    relevant document (nDCG 1 for any encoder); in `shifted` it is the text of the next document."""
    from datasets import Dataset
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
    from mteb.abstasks.task_metadata import TaskMetadata

    def split(shift: int) -> RetrievalSplitData:
        corpus = Dataset.from_list([{"id": f"d{i}", "title": "", "text": t} for i, t in enumerate(DOCS)])
        queries = Dataset.from_list([{"id": f"q{i}", "text": DOCS[(i + shift) % len(DOCS)]} for i in range(len(DOCS))])
        return RetrievalSplitData(corpus=corpus, queries=queries, top_ranked=None,
                                  relevant_docs={f"q{i}": {f"d{i}": 1} for i in range(len(DOCS))})

    class TwoSubsetDevRetrieval(AbsTaskRetrieval):
        metadata = TaskMetadata(
            name=TWO_SUBSETS, description="two subsets, dev split", type="Retrieval", category="t2t",
            main_score="ndcg_at_10", eval_splits=["dev"], eval_langs={"exact": ["eng-Latn"], "shifted": ["eng-Latn"]},
            modalities=["text"], dataset={"path": "bench/two-subsets", "revision": "0"}, reference=None, date=None,
            domains=None, task_subtypes=None, license=None, annotations_creators=None, dialect=None,
            sample_creation=None, bibtex_citation=None)

        def load_data(self, **_kwargs) -> None:
            self.dataset = {"exact": {"dev": split(0)}, "shifted": {"dev": split(1)}}
            self.data_loaded = True

    return TwoSubsetDevRetrieval()


def test_an_mteb_task_on_dev_with_two_subsets_averages_both_and_records_them(tiny_encoder_dir, tmp_path,
                                                                             monkeypatch):
    import mteb
    from sentence_transformers import SentenceTransformer

    from bench.runner import RunRequest, run
    from bench.schema import load_result

    real_get_task = mteb.get_task
    monkeypatch.setattr(mteb, "get_task", lambda name, *a, **k: two_subset_dev_task() if name == TWO_SUBSETS
                        else real_get_task(name, *a, **k))
    reference = mteb.evaluate(SentenceTransformer(str(tiny_encoder_dir), device="cpu"), two_subset_dev_task(),
                              cache=None, show_progress_bar=False).task_results[0]
    per_subset = {entry["hf_subset"]: entry for entry in reference.scores["dev"]}
    assert per_subset["exact"]["ndcg_at_10"] == pytest.approx(1.0)
    assert per_subset["shifted"]["ndcg_at_10"] < 0.9  # so a first-subset-only score would differ

    mean = {m: (per_subset["exact"][m] + per_subset["shifted"][m]) / 2 for m in ("ndcg_at_10", "recall_at_1")}

    common = dict(method="dense", model=str(tiny_encoder_dir), tasks=[TWO_SUBSETS])
    run(RunRequest(out=tmp_path / "plain", **common), log=lambda _l: None)
    (pair,) = run(RunRequest(out=tmp_path / "vectors", embed="int8", **common), log=lambda _l: None)
    plain = load_result(next((tmp_path / "plain").rglob(f"{TWO_SUBSETS}.json")))
    float_via_vectors = load_result(tmp_path / "vectors" / pair.compressed.dense_reference.path)
    for result in (plain, float_via_vectors, pair.compressed):
        assert (result.task.splits, sorted(result.task.subsets)) == (["dev"], ["exact", "shifted"])
    # the float runs, through mteb's own search and through our index, score what mteb scores
    assert plain.main_score == pytest.approx(mean["ndcg_at_10"])
    assert float_via_vectors.main_score == pytest.approx(mean["ndcg_at_10"])

    from bench.backends.mteb import aggregate

    assert aggregate(reference, two_subset_dev_task(), list(mean), n_items=0).metrics == pytest.approx(mean)
    with pytest.raises(BenchError, match="mteb did not score nope on 'BenchTwoSubsetDevRetrieval' split 'dev' "
                                         "subset 'exact'; it reported .*ndcg_at_10"):
        aggregate(reference, two_subset_dev_task(), ["ndcg_at_10", "nope"], n_items=0)
