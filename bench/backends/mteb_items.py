"""Per-item outputs of an mteb run, taken from mteb itself while it scores: per-query retrieval scores
(pytrec_eval's, which mteb averages and rounds to 5 digits) with the retrieved documents, and the
per-pair similarities of an STS task with the gold scores mteb correlates them with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mteb._evaluators.retrieval_metrics import mrr
from mteb.abstasks.abstask import AbsTask
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.sts import AbsTaskSTS

from bench import BenchError
from bench.items import TOP_DOCS, ItemRun, Items, short

# mteb's metric name -> pytrec_eval's per-query key (mteb rounds each mean of these to 5 digits)
PYTREC_KEYS = {"ndcg_at_": "ndcg_cut_", "map_at_": "map_cut_", "recall_at_": "recall_", "precision_at_": "P_",
               "hit_rate_at_": "success_"}
MTEB_ROUND_DIGITS = 5


@dataclass
class _Group:
    """One (split, subset) mteb scored: item ids and columns."""

    name: str
    ids: list[str]
    values: dict[str, list[float]]
    predictions: list[str] | None


@dataclass
class ItemCapture:
    """Wraps the task's own scoring step (on this instance only) and keeps what it is given."""

    main_metric: str
    aggregation: str = "mean"
    round_digits: int | None = None
    groups: list[_Group] = field(default_factory=list)

    def items(self, task_name: str) -> Items:
        if not self.groups:
            raise BenchError(f"mteb scored no items of {task_name}")
        several = len(self.groups) > 1
        prefix = [f"{g.name}/" if several else "" for g in self.groups]
        predictions = None if any(g.predictions is None for g in self.groups) else \
            [p for g in self.groups for p in g.predictions]
        return Items(task=task_name, main_metric=self.main_metric, aggregation=self.aggregation,
                     round_digits=self.round_digits,
                     ids=[pre + i for pre, g in zip(prefix, self.groups) for i in g.ids],
                     groups=[g.name for g in self.groups for _ in g.ids] if several else None,
                     runs=[ItemRun(values={name: [v for g in self.groups for v in g.values[name]]
                                           for name in self.groups[0].values}, predictions=predictions)])


def _top_docs(scores: dict[str, float]) -> str:
    """The retrieved doc ids, best first (ties broken as mteb's mrr breaks them), cut short."""
    ranked = sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)[:TOP_DOCS]
    return short("\t".join(doc for doc, _ in ranked))  # tab-separated: doc ids may hold spaces


def capture_items(task: AbsTask, main_metric: str) -> ItemCapture:
    """Start capturing `task`'s per-item outputs for `main_metric`; read them with `.items()` after mteb ran."""
    if isinstance(task, AbsTaskRetrieval):
        return _capture_retrieval(task, main_metric)
    if isinstance(task, AbsTaskSTS) and main_metric in ("cosine_spearman", "spearman"):
        return _capture_sts(task, main_metric)
    raise BenchError(f"bench cannot store per-item outputs of {main_metric!r} for mteb task "
                     f"{task.metadata.name!r}: it stores retrieval metrics per query and STS Spearman per pair")


def _capture_retrieval(task: AbsTaskRetrieval, main_metric: str) -> ItemCapture:
    match = re.fullmatch(r"([a-z_]+_at_)(\d+)", main_metric)
    prefix, k = match.groups() if match else (None, None)
    if prefix not in PYTREC_KEYS and prefix != "mrr_at_":
        raise BenchError(f"bench cannot store per-query {main_metric!r} for mteb task {task.metadata.name!r}")
    capture = ItemCapture(main_metric, round_digits=MTEB_ROUND_DIGITS if prefix in PYTREC_KEYS else None)
    scored = task.task_specific_scores

    def keep(scores, qrels, results, hf_split, hf_subset, **kwargs):
        if prefix in PYTREC_KEYS:  # what mteb averaged: pytrec_eval's per-query scores
            ids = list(scores)
            values = [float(scores[q][PYTREC_KEYS[prefix] + k]) for q in ids]
        else:  # mteb's own mean reciprocal rank, per query, in the order of `results`
            ids = list(results)
            values = [float(v) for v in mrr(qrels, results, [int(k)])[f"MRR@{k}"]]
        capture.groups.append(_Group(f"{hf_split}/{hf_subset}", ids, {"value": values},
                                     [_top_docs(results.get(q, {})) for q in ids]))
        return scored(scores, qrels, results, hf_split=hf_split, hf_subset=hf_subset, **kwargs)

    task.task_specific_scores = keep
    return capture


def _capture_sts(task: AbsTaskSTS, main_metric: str) -> ItemCapture:
    capture = ItemCapture(main_metric, aggregation="spearman")
    evaluate_subset, calculate = task._evaluate_subset, task._calculate_scores
    current: list[str] = []  # the split and subset being scored (_calculate_scores is not told)

    def enter(*args, hf_split, hf_subset, **kwargs):
        current[:] = [f"{hf_split}/{hf_subset}"]
        return evaluate_subset(*args, hf_split=hf_split, hf_subset=hf_subset, **kwargs)

    def keep(scores, normalized_scores):  # the one place mteb holds both columns it correlates
        predicted = scores["cosine_scores"] if main_metric == "cosine_spearman" or \
            scores.get("similarity_scores") is None else scores["similarity_scores"]
        capture.groups.append(_Group(current[0], [str(i) for i in range(len(predicted))],
                                     {"predicted": [float(v) for v in predicted],
                                      "gold": [float(v) for v in normalized_scores]}, None))
        return calculate(scores, normalized_scores)

    task._evaluate_subset, task._calculate_scores = enter, keep
    return capture
