"""LLM tasks through lm-evaluation-harness: our task spec becomes an lm-eval task dict."""

from __future__ import annotations

import lm_eval
from lm_eval.models.huggingface import HFLM

from bench.assets import LoadedModel
from bench.backends import TaskOutcome
from bench.profiles import Profile
from bench.recipes import TaskData
from bench.taskspec import TaskSpec


def task_config(spec: TaskSpec, data: TaskData) -> dict:
    return {
        "task": f"bench_{spec.name}",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data.files["test"].resolve())}},
        "test_split": "test",
        "metric_list": [{"metric": metric} for metric in spec.metrics],
        **spec.engine,
        "metadata": {"version": spec.version},
    }


def evaluate(spec: TaskSpec, model: LoadedModel, data: TaskData, profile: Profile, limit: int | None) -> TaskOutcome:
    lm = HFLM(pretrained=model.module, tokenizer=model.tokenizer, batch_size=profile.batch_size,
              max_length=spec.max_length)
    config = task_config(spec, data)
    out = lm_eval.simple_evaluate(model=lm, tasks=[config], limit=limit, bootstrap_iters=0,
                                  log_samples=False, verbosity="ERROR")
    scores = out["results"][config["task"]]
    return TaskOutcome(
        metrics={metric: float(scores[f"{metric},none"]) for metric in spec.metrics},
        n_items=int(out["n-samples"][config["task"]]["effective"]),
        engine_version=f"lm-eval {lm_eval.__version__}",
    )
