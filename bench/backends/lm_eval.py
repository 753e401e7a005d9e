"""LLM tasks through lm-evaluation-harness: our task spec becomes an lm-eval task dict."""

from __future__ import annotations

import numbers
import re
import string
from functools import lru_cache

import lm_eval
from lm_eval.api.metrics import exact_match_hf_evaluate
from lm_eval.models.huggingface import HFLM
from rouge_score import rouge_scorer

from bench import BenchError
from bench.assets import LoadedModel
from bench.backends import TaskOutcome, upstream_errors
from bench.hashing import documents_hash as hash_documents
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.taskspec import TaskSpec


def _normalize(text: str) -> str:
    return " ".join(text.lower().translate(str.maketrans("", "", string.punctuation)).split())


def answer_match(doc: dict, results: list[str]) -> dict[str, float]:
    """Short-answer scoring: lm-eval's exact match (case and punctuation ignored) and the lenient
    "answer contained" match LLM-KICK reports (the answer occurs as whole words in the output)."""
    prediction = results[0].strip()
    answers = [doc["answer"], *doc.get("aliases", [])]
    exact = max(exact_match_hf_evaluate([prediction], [answer], ignore_case=True, ignore_punctuation=True)
                ["exact_match"] for answer in answers)
    contains = any(re.search(rf"\b{re.escape(_normalize(a))}\b", _normalize(prediction)) for a in answers)
    return {"exact_match": float(exact), "contains": float(contains)}


@lru_cache(maxsize=1)
def _rouge() -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def rouge(doc: dict, results: list[str]) -> dict[str, float]:
    """ROUGE F-measures of a generated summary against the reference (Google's rouge-score package)."""
    return {name: score.fmeasure for name, score in _rouge().score(doc["summary"], results[0].strip()).items()}


SCORERS = {"answer_match": answer_match, "rouge": rouge}  # named from task YAML: no code is loaded from data


def task_config(spec: TaskSpec, data: TaskData) -> dict:
    engine = dict(spec.engine)
    if "process_results" in engine:
        engine["process_results"] = SCORERS[engine["process_results"]]
    splits = {split: str(data.files[split].resolve()) for split in ("test", "train") if split in data.files}
    return {
        "task": f"bench_{spec.name}",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": splits},
        "test_split": "test",
        "metric_list": [{"metric": metric} for metric in spec.metrics],
        **engine,
        "metadata": {"version": spec.version},
    }


def read_metrics(spec: TaskSpec, task: str, scores: dict) -> dict[str, float]:
    """Every `metric,filter` score lm-eval reported for the task. The main metric's filter is the spec's
    `main_filter`, or else the first filter lm-eval reports for the main metric; scores under that
    filter keep their plain metric name, every other pair keeps lm-eval's own `metric,filter` key."""
    pairs = {}
    for key, value in scores.items():
        metric, _, filter_name = key.partition(",")
        # skip "alias", the "N/A" standard errors of bootstrap_iters=0, and anything not a number
        if filter_name and not metric.endswith("_stderr") and isinstance(value, numbers.Real) \
                and not isinstance(value, bool):
            pairs[(metric, filter_name)] = float(value)
    main_filter = spec.main_filter or next((f for m, f in pairs if m == spec.main_metric), None)
    if (spec.main_metric, main_filter) not in pairs:
        wanted = spec.main_metric + (f",{main_filter}" if main_filter else "")
        reported = ", ".join(f"{m},{f}" for m, f in pairs) or "no metric"
        raise BenchError(f"lm-eval reported no {wanted} for task {task!r}; it reported {reported}")
    return {(metric if filter_name == main_filter else f"{metric},{filter_name}"): value
            for (metric, filter_name), value in pairs.items()}


def documents_hash(task: str | dict) -> str:
    """sha256 of the documents lm-eval evaluates for a task (a name, or a config dict), every subtask of a
    group: each task's eval docs (its test split, else its validation split) as lm-eval builds them."""
    from lm_eval.tasks import TaskManager

    tasks = TaskManager().load(task)["tasks"]
    return hash_documents({name: built.eval_docs for name, built in tasks.items()})


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    lm = HFLM(pretrained=model.module, tokenizer=model.tokenizer, batch_size=profile.batch_size,
              max_length=spec.max_length)
    task = spec.upstream or task_config(spec, data)
    name = spec.upstream or task["task"]
    with upstream_errors("lm-eval", spec.upstream):
        out = lm_eval.simple_evaluate(model=lm, tasks=[task], limit=limit, bootstrap_iters=0,
                                      log_samples=False, verbosity="ERROR")
    subtasks = out.get("group_subtasks", {}).get(name) or [name]
    return TaskOutcome(
        metrics=read_metrics(spec, name, out["results"][name]),
        n_items=sum(int(out["n-samples"][t]["effective"]) for t in subtasks if t in out["n-samples"]),
        engine_version=f"lm-eval {lm_eval.__version__}",
    )
