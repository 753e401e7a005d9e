"""LLM tasks through lm-evaluation-harness: our task spec becomes an lm-eval task dict."""

from __future__ import annotations

import numbers
import re
import string
from functools import lru_cache

import lm_eval
from lm_eval.api.metrics import exact_match_hf_evaluate
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager
from rouge_score import rouge_scorer

from bench import BenchError
from bench.assets import LoadedModel
from bench.backends import TaskOutcome, upstream_errors
from bench.hashing import documents_hash as hash_documents
from bench.items import ItemRun, Items, short
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


def _metric_pairs(scores: dict) -> dict[tuple[str, str], float]:
    pairs = {}
    for key, value in scores.items():
        metric, _, filter_name = key.partition(",")
        # skip "alias", the "N/A" standard errors of bootstrap_iters=0, and anything not a number
        if filter_name and not metric.endswith("_stderr") and isinstance(value, numbers.Real) \
                and not isinstance(value, bool):
            pairs[(metric, filter_name)] = float(value)
    return pairs


def main_filter(spec: TaskSpec, scores: dict) -> str | None:
    """The spec's `main_filter`, or else the first filter lm-eval reports for the main metric."""
    return spec.main_filter or next((f for m, f in _metric_pairs(scores) if m == spec.main_metric), None)


def read_metrics(spec: TaskSpec, task: str, scores: dict) -> dict[str, float]:
    """Every `metric,filter` score lm-eval reported for the task. Scores under the main metric's filter
    (`main_filter`) keep their plain metric name, every other pair keeps lm-eval's own `metric,filter` key."""
    pairs = _metric_pairs(scores)
    main = main_filter(spec, scores)
    if (spec.main_metric, main) not in pairs:
        wanted = spec.main_metric + (f",{main}" if main else "")
        reported = ", ".join(f"{m},{f}" for m, f in pairs) or "no metric"
        raise BenchError(f"lm-eval reported no {wanted} for task {task!r}; it reported {reported}")
    return {(metric if filter_name == main else f"{metric},{filter_name}"): value
            for (metric, filter_name), value in pairs.items()}


@lru_cache(maxsize=1)
def task_manager() -> TaskManager:
    """lm-eval's index of its own tasks, built once per process (10 s on 2 cores), not once per evaluation."""
    return TaskManager()


def documents_hash(task: str | dict) -> str:
    """sha256 of the documents lm-eval evaluates for a task (a name, or a config dict), every subtask of a
    group: each task's eval docs (its test split, else its validation split) as lm-eval builds them."""
    tasks = task_manager().load(task)["tasks"]
    return hash_documents({name: built.eval_docs for name, built in tasks.items()})
def _prediction(sample: dict) -> str | None:
    """What the model answered: the chosen option's index (the highest log-likelihood, as acc scores it),
    the generated text (filtered, cut short), or nothing for a perplexity."""
    responses = sample["filtered_resps"]
    if len(responses) > 1 or isinstance(responses[0], (tuple, list)):  # one (loglikelihood, greedy) per option
        return str(max(range(len(responses)), key=lambda i: responses[i][0]))
    return short(responses[0]) if isinstance(responses[0], str) else None


def read_items(spec: TaskSpec, subtasks: list[str], samples: dict[str, list[dict]], main: str) -> Items:
    """lm-eval's own per-document values of the main metric (its logged samples, under the main filter):
    numbers aggregate by their mean; (loglikelihood, words) pairs of word_perplexity by its weighted
    perplexity. Documents of a group's subtasks are `subtask/doc_id`."""
    rows = [(task, sample) for task in subtasks for sample in samples.get(task, []) if sample["filter"] == main]
    values = [sample[spec.main_metric] for _, sample in rows]
    if spec.main_metric == "word_perplexity":
        aggregation, columns = "word_perplexity", {"loglikelihood": [float(v[0]) for v in values],
                                                   "words": [float(v[1]) for v in values]}
    elif all(isinstance(v, numbers.Real) for v in values):
        aggregation, columns = "mean", {"value": [float(v) for v in values]}
    else:
        raise BenchError(f"bench cannot store per-item outputs of {spec.main_metric!r} (task {spec.name}): it "
                         "recomputes means of per-item numbers and word_perplexity")
    predictions = [_prediction(sample) for _, sample in rows]
    return Items(task=spec.name, main_metric=spec.main_metric, aggregation=aggregation,
                 ids=[(f"{task}/" if len(subtasks) > 1 else "") + str(sample["doc_id"]) for task, sample in rows],
                 runs=[ItemRun(values=columns, predictions=None if None in predictions else predictions)])


def harness_model(spec: TaskSpec, model: LoadedModel, profile: Profile) -> HFLM:
    return HFLM(pretrained=model.module, tokenizer=model.tokenizer, batch_size=profile.batch_size,
                max_length=spec.max_length)


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    lm = harness_model(spec, model, profile)
    task = spec.upstream or task_config(spec, data)
    name = spec.upstream or task["task"]
    with upstream_errors("lm-eval", spec.upstream):
        out = lm_eval.simple_evaluate(model=lm, tasks=[task], limit=limit, bootstrap_iters=0, log_samples=True,
                                      verbosity="ERROR", task_manager=task_manager())
    subtasks = out.get("group_subtasks", {}).get(name) or [name]
    scores = out["results"][name]
    return TaskOutcome(
        metrics=read_metrics(spec, name, scores),
        items=read_items(spec, subtasks, out["samples"], main_filter(spec, scores)),
        n_items=sum(int(out["n-samples"][t]["effective"]) for t in subtasks if t in out["n-samples"]),
        engine_version=f"lm-eval {lm_eval.__version__}",
    )
