"""`bench verify`'s re-scoring: a sample of a task's items scored again as the run scored them, without the
rest. lm-eval tasks: lm-eval's own per-document selection (`samples`); bench's mteb tasks: the task data cut
to the sampled queries against the full corpus (so each query's score is unchanged) or to the sampled STS
pairs. Where the sample would change what an item is scored with, the whole task runs again instead."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bench import backends
from bench.assets import LoadedModel
from bench.items import Items
from bench.methods.embed import VectorVariant
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.taskspec import TaskSpec


class Unverifiable(ValueError):
    """The file's items cannot be scored again as they are named (e.g. an id that is no document index)."""


def rescore(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None,
            ids: list[str], variant: VectorVariant | None) -> tuple[Items, str]:
    """Fresh items for `ids` (as the result's items file names them), and a note on what ran besides them
    ("" when only the sample ran)."""
    if spec.backend == "lm_eval":
        if fewshot_depends_on_set(spec):
            return _evaluate(spec, model, data, profile, limit, variant), \
                "every item scored: its few-shot examples depend on which items run"
        return _lm_eval_sample(spec, model, data, profile, ids), ""
    if spec.upstream:  # mteb's own task: mteb loads its data whole
        return _evaluate(spec, model, data, profile, limit, variant), "every item scored: mteb's own task"
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        cut, labels = _cut(spec, data, ids, Path(folder))
        fresh = _evaluate(spec, model, cut, profile, None, variant)
    return (fresh if labels is None else fresh.model_copy(update={"ids": labels})), ""


def fewshot_depends_on_set(spec: TaskSpec) -> bool:
    """Whether an lm-eval task's few-shot examples for an item change when fewer items run: lm-eval draws them
    for one item after another from one seeded generator, unless there are none or they are the first n of
    their split (`first_n`, as bench's own few-shot tasks take them from their train split)."""
    if spec.upstream is None:
        settings = [(spec.engine.get("num_fewshot") or 0, (spec.engine.get("fewshot_config") or {}).get("sampler"))]
    else:
        from lm_eval.tasks import TaskManager

        tasks = TaskManager().load(spec.upstream)["tasks"].values()
        settings = [(task.config.num_fewshot or 0, getattr(getattr(task, "fewshot_cfg", None), "sampler", None))
                    for task in tasks]
    return any(shots > 0 and sampler != "first_n" for shots, sampler in settings)


def _evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None,
              variant: VectorVariant | None) -> Items:
    if variant is None:
        outcome = backends.evaluate(spec, model, data, profile, limit)
    else:  # an --embed result: the codec searches the encoder's vectors, as the run did
        from bench.backends.embed_search import evaluate_variants

        found = evaluate_variants(spec, model.module, data, profile, limit, [variant])[0]
        if found.outcome is None:
            raise Unverifiable(f"the {variant.slug} index cannot be built again: {found.skipped}")
        outcome = found.outcome
    if outcome.items is None:
        raise Unverifiable("scoring again gave no per-item outputs")
    return outcome.items


def _lm_eval_sample(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, ids: list[str]) -> Items:
    """lm-eval logs each selected document under its index in the task (given the indices sorted, as it maps
    them back in the order given); a group's subtask prefixes it as in the result's items."""
    import lm_eval

    from bench.backends.lm_eval import harness_model, main_filter, read_items, task_config

    wanted: dict[str, list[int]] = {}
    for item in ids:
        subtask, _, doc = item.rpartition("/")  # a group's items are `subtask/doc_id`
        if not doc.isdigit():
            raise Unverifiable(f"items[{item}]: not an lm-eval document index")
        wanted.setdefault(subtask or spec.upstream or f"bench_{spec.name}", []).append(int(doc))
    docs = {task: sorted(indices) for task, indices in wanted.items()}
    tasks = list(docs) if spec.upstream else [task_config(spec, data)]
    with backends.upstream_errors("lm-eval", spec.upstream):
        try:
            out = lm_eval.simple_evaluate(model=harness_model(spec, model, profile), tasks=tasks, samples=docs,
                                          bootstrap_iters=0, log_samples=True, verbosity="ERROR")
        except AssertionError as err:  # lm-eval asserts the indices lie inside the task
            raise Unverifiable(f"lm-eval refused the sampled documents: {err}") from None
    main = main_filter(spec, out["results"][next(iter(docs))])
    fresh = read_items(spec, list(docs), out["samples"], main)
    prefix = any("/" in item for item in ids)
    labels = [(f"{task}/" if prefix else "") + str(sample["doc_id"])
              for task in docs for sample in out["samples"].get(task, []) if sample["filter"] == main]
    return fresh.model_copy(update={"ids": labels})


def _cut(spec: TaskSpec, data: TaskData, ids: list[str], folder: Path) -> tuple[TaskData, list[str] | None]:
    """The task data holding only the sampled items, and the ids the fresh items get back (None: their own,
    the query ids of a retrieval task; an STS pair is numbered by its position)."""
    if spec.is_retrieval:
        keep = set(ids)
        queries = [row for row in data.rows("queries") if row["id"] in keep]
        return TaskData(files={**data.files, "queries": _write(folder / "queries.jsonl", queries)},
                        data_hash=data.data_hash), None
    rows = data.rows("test")
    if not all(item.isdigit() and int(item) < len(rows) for item in ids):
        raise Unverifiable(f"items: an STS item is a pair's position, 0 to {len(rows) - 1}")
    positions = sorted(int(item) for item in ids)
    return (TaskData(files={"test": _write(folder / "test.jsonl", [rows[p] for p in positions])},
                     data_hash=data.data_hash), [str(p) for p in positions])


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in rows), encoding="utf-8")
    return path
