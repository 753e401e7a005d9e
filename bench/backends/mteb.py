"""Embedding tasks through mteb: our offline data becomes an mteb custom retrieval or STS task."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mteb
from datasets import Dataset, DatasetDict
from mteb.abstasks.abstask import AbsTask
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
from mteb.abstasks.sts import AbsTaskSTS
from mteb.abstasks.task_metadata import TaskMetadata
from mteb.results import TaskResult

from bench import BenchError
from bench.assets import LoadedModel
from bench.backends import TaskOutcome, upstream_errors
from bench.hashing import documents_hash as hash_documents
from bench.backends.mteb_items import capture_items
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.taskspec import TaskSpec


def metadata(spec: TaskSpec, data: TaskData, task_type: str) -> TaskMetadata:
    return TaskMetadata(
        name=f"bench_{spec.name}", description=spec.description, type=task_type, category="t2t",
        main_score=spec.main_metric, eval_splits=["test"], eval_langs=["eng-Latn"], modalities=["text"],
        # The data hash stands in for a dataset revision: mteb records it in its result.
        dataset={"path": f"bench/{spec.name}", "revision": data.data_hash[:12]}, reference=None,
        date=None, domains=None, task_subtypes=None, license=None, annotations_creators=None,
        dialect=None, sample_creation=None, bibtex_citation=None,
    )


def sts_task(spec: TaskSpec, data: TaskData, limit: int | None) -> tuple[AbsTaskSTS, int]:
    """The task and its number of scored pairs."""
    rows = data.rows("test")[:limit]

    class OfflineSTS(AbsTaskSTS):
        metadata = metadata(spec, data, "STS")
        min_score, max_score = spec.engine.get("min_score", 0), spec.engine.get("max_score", 1)

        def load_data(self, **_kwargs) -> None:
            self.dataset = DatasetDict({"test": Dataset.from_list(rows)})
            self.data_loaded = True

    return OfflineSTS(), len(rows)


def retrieval_task(spec: TaskSpec, data: TaskData, limit: int | None) -> tuple[AbsTaskRetrieval, int]:
    """The task and its number of queries."""
    queries = data.rows("queries")[:limit]
    kept = {q["id"] for q in queries}
    qrels: dict[str, dict[str, int]] = {}
    for row in data.rows("qrels"):
        if row["query_id"] in kept:
            qrels.setdefault(row["query_id"], {})[row["doc_id"]] = int(row["score"])
    split = RetrievalSplitData(queries=Dataset.from_list(queries), corpus=Dataset.from_list(data.rows("corpus")),
                               relevant_docs=qrels, top_ranked=None)

    class OfflineRetrieval(AbsTaskRetrieval):
        metadata = metadata(spec, data, "Retrieval")
        k_values = tuple(spec.engine.get("k_values", AbsTaskRetrieval.k_values))  # LIMIT reports recall@2

        def load_data(self, **_kwargs) -> None:
            self.dataset = {"default": {"test": split}}
            self.data_loaded = True

    return OfflineRetrieval(), len(queries)


def offline_or_upstream(spec: TaskSpec, data: TaskData, limit: int | None) -> tuple[AbsTask, int]:
    """Our task built from offline data, or mteb's own by name (all of it: --limit does not apply;
    its item count is reported as 0, not counted)."""
    if spec.upstream:
        return mteb.get_task(spec.upstream), 0
    return (retrieval_task if spec.is_retrieval else sts_task)(spec, data, limit)


def evaluated_documents(task: AbsTask) -> dict[str, Any]:
    """What mteb evaluates, by `subset/split/part`: the loaded corpus, queries and qrels of a retrieval task,
    the samples of any other, for every eval split and hf subset the task declares."""
    task.load_data()
    data = task.dataset
    by_subset = data if set(task.hf_subsets) <= set(data) else {"default": data}  # a single subset: splits at top
    documents = {}
    for subset in task.hf_subsets:
        for split in task.metadata.eval_splits:
            part = by_subset.get(subset, {}).get(split)
            if isinstance(part, Mapping):  # a retrieval split: queries, corpus, relevant_docs, top_ranked
                documents |= {f"{subset}/{split}/{name}": rows for name, rows in part.items() if rows is not None}
            elif part is not None:
                documents[f"{subset}/{split}"] = part
    return documents


def documents_hash(name: str) -> str:
    """sha256 of what mteb evaluates for its task `name`."""
    return hash_documents(evaluated_documents(mteb.get_task(name)))


def run_mteb(model, task: AbsTask, spec: TaskSpec, n_items: int, **kwargs) -> TaskOutcome:
    """mteb's scores over every split and subset the task evaluates; an upstream task that cannot
    fetch its data says so in one line."""
    capture = capture_items(task, spec.main_metric)
    # cache=None: mteb's result cache would hand one variant's score to the next (DESIGN pitfall 3).
    with upstream_errors("mteb", spec.upstream):
        result = mteb.evaluate(model, task, cache=None, show_progress_bar=False, **kwargs)
    outcome = aggregate(result.task_results[0], task, spec.metrics, n_items)
    outcome.items = capture.items(spec.name)
    return outcome


def aggregate(result: TaskResult, task: AbsTask, metrics: list[str], n_items: int) -> TaskOutcome:
    """Each metric averaged over the task's eval splits and hf subsets, the way the MTEB leaderboard
    averages the main score (`TaskResult.get_score` on the result filtered to what the task declares)."""
    scored = result.validate_and_filter_scores(task)  # a split or subset mteb did not score: main_score NaN
    for split, entries in scored.scores.items():
        for entry in entries:
            missing = [m for m in metrics if not _is_score(entry.get(m))]
            if missing:
                reported = ", ".join(k for k, v in entry.items() if _is_score(v)) or "nothing"
                raise BenchError(f"mteb did not score {', '.join(missing)} on {task.metadata.name!r} split "
                                 f"{split!r} subset {entry['hf_subset']!r}; it reported {reported}")
    subsets = [entry["hf_subset"] for entries in scored.scores.values() for entry in entries]
    return TaskOutcome(
        metrics={m: float(scored.get_score(getter=lambda entry, m=m: entry[m])) for m in metrics},
        n_items=n_items, engine_version=f"mteb {mteb.__version__}",
        splits=list(scored.scores), subsets=list(dict.fromkeys(subsets)),
    )


def _is_score(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    task, n_items = offline_or_upstream(spec, data, limit)
    return run_mteb(model.module, task, spec, n_items, encode_kwargs={"batch_size": profile.embed_batch_size})
