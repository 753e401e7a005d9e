"""Hand-made submissions folders for the validate and site tests: a dense parent and a Wanda result on
bench's own wiki_ppl task (its current version and data), as plain JSON data a test can corrupt, each with
its items file (three passages whose loglikelihoods give exactly its word perplexity)."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from bench import recipes
from bench.run_config import (CalibrationSettings, MethodConfig, ModelConfig, ProfileConfig, RunConfig, TaskConfig,
                              config_hash)
from bench.taskspec import TASKS

DENSE_PATH = "org__model/dense/cpu-2c/wiki_ppl.json"
WANDA_PATH = "org__model/wanda-sp0.5/cpu-2c/wiki_ppl.json"


def wiki_ppl_hash() -> str:
    spec = TASKS.get("wiki_ppl")
    return recipes.current_hash(spec.recipe, json.dumps(spec.recipe_args, sort_keys=True))


def run_config(method: str, params: dict[str, Any], calibrated: bool) -> dict[str, Any]:
    """The config record a run of `method` on wiki_ppl with cpu-2c's settings would store."""
    spec = TASKS.get("wiki_ppl")
    return RunConfig(
        task=TaskConfig(name=spec.name, version=spec.version, data_hash=wiki_ppl_hash(), upstream=None,
                        backend=spec.backend, engine_version="0.4.13", engine=spec.engine, max_length=spec.max_length,
                        main_metric=spec.main_metric, main_filter=spec.main_filter, limit=None),
        model=ModelConfig(name="org/model", source="hub:org/model", revision="a" * 40),
        method=MethodConfig(name=method, params=params), seeds=[0] if calibrated else [],
        calibration=CalibrationSettings(source="news", samples=16, seqlen=512, text_hash="ef" * 32) if calibrated
        else None,
        embed=None, profile=ProfileConfig(device="cpu", dtype="float32", batch_size=4, embed_batch_size=32),
    ).model_dump(mode="json")


def with_config(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`data` with its config record's top-level `changes` and the record's own hash, as bench writes it."""
    data = copy.deepcopy(data)
    data["config"].update(changes)
    data["config_hash"] = config_hash(RunConfig.model_validate(data["config"]))
    return data


def sync_config(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the fields its config record repeats (model, method, task) copied into it and rehashed: an
    edit of those fields as a run that had them would write it."""
    data = copy.deepcopy(data)
    config = data["config"]
    config["model"] = {key: data["model"].get(key) for key in ("name", "source", "revision")}
    config["method"] = {key: data["method"][key] for key in ("name", "params")}
    config["task"].update({key: data["task"].get(key) for key in ("name", "version", "data_hash", "limit", "backend")},
                          main_metric=data["main_metric"])
    return with_config(data)


def on_task(data: dict[str, Any], name: str) -> dict[str, Any]:
    """`data` moved to bench's task `name` at its current version and data, its config record following."""
    spec = TASKS.get(name)
    data = copy.deepcopy(data)
    data_hash = recipes.current_hash(spec.recipe, json.dumps(spec.recipe_args, sort_keys=True))
    data["task"].update(name=name, version=spec.version, backend=spec.backend, data_hash=data_hash)
    data["config"]["task"].update(engine=spec.engine, max_length=spec.max_length, main_filter=spec.main_filter)
    return sync_config(data)
WORDS = [100.0, 120.0, 80.0]


ITEMS_TEXTS: dict[str, str] = {}  # sha256 -> an items file's text, for `write` to put beside the result naming it


def items_ref(task: str, main_metric: str, aggregation: str, values: dict[str, list[float]]) -> dict[str, Any]:
    """The `items` of a result whose items file holds `values`; `write` writes that file beside it."""
    n = len(next(iter(values.values())))
    text = json.dumps({"task": task, "main_metric": main_metric, "aggregation": aggregation,
                       "ids": [str(i) for i in range(n)], "runs": [{"values": values}]})
    sha256 = hashlib.sha256(text.encode()).hexdigest()
    ITEMS_TEXTS[sha256] = text
    return {"file": f"{task}.items.json", "sha256": sha256, "n_items": n}


def perplexity_items(perplexity: float) -> dict[str, Any]:
    """Items whose word perplexity is `perplexity`: exp(-sum(loglikelihood) / sum(words))."""
    loglikelihood = [-words * math.log(perplexity) for words in WORDS]
    return items_ref("wiki_ppl", "word_perplexity", "word_perplexity", {"loglikelihood": loglikelihood, "words": WORDS})


def dense_data() -> dict[str, Any]:
    return with_config({
        "schema_version": 2,
        "model": {"name": "org/model", "source": "hub:org/model", "revision": "a" * 40, "kind": "causal-lm",
                  "n_params": 10, "weights_hash": "12" * 32},
        "method": {"name": "dense", "params": {}, "slug": "dense"},
        "task": {"name": "wiki_ppl", "version": TASKS.get("wiki_ppl").version, "backend": "lm_eval",
                 "data_hash": wiki_ppl_hash(), "n_items": 3, "engine_version": "lm-eval 0.4.13"},
        "profile": "cpu-2c",
        "hardware": {"machine": "x86_64", "cpu": "a CPU", "cpu_count": 2, "torch_threads": 2},
        "main_metric": "word_perplexity", "higher_is_better": False,
        "main_score": 30.0, "metrics": {"word_perplexity": 30.0, "bits_per_byte": 1.2},
        "efficiency": {"compress_seconds": None, "eval_seconds": 2.0},
        "environment": {"python": "3.11", "packages": {"torch": "2.13.0"}, "git_hash": None, "seed": 0},
        "date": "2026-11-22T00:00:00Z",
        "config": run_config("dense", {}, calibrated=False),
        "items": perplexity_items(30.0),
    })


def wanda_data() -> dict[str, Any]:
    data = copy.deepcopy(dense_data())
    data["method"] = {"name": "wanda", "params": {"sparsity": 0.5, "pattern": None, "schedule": None},
                      "slug": "wanda-sp0.5"}
    data.update(main_score=40.0, metrics={"word_perplexity": 40.0, "bits_per_byte": 1.4},
                dense_reference={"main_score": 30.0, "path": DENSE_PATH}, items=perplexity_items(40.0))
    data["compression"] = {"target_layers": 2, "target_params": 8, "sparsity": 0.5, "param_sparsity": 0.4,
                           "storage_format": "bitmask", "storage_bytes": 9, "dense_bytes": 16,
                           "bits_per_weight": 9.0, "model_params": 10, "model_bytes": 13,
                           "model_bits_per_weight": 10.4}
    data["calibration"] = {"source": "news", "samples": 16, "seqlen": 512, "seed": 0, "data_hash": "cd" * 32}
    data["model"]["weights_hash"] = "34" * 32
    return with_config(data, **run_config("wanda", data["method"]["params"], calibrated=True))


def write(root: Path, rel: str, data: dict[str, Any] | str) -> Path:
    """The result file, and beside it the fixture items file its `items` names (if it names one of them)."""
    path = Path(root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    write_items_beside(path, data)
    return path


def write_items_beside(path: Path, data: dict[str, Any] | str) -> None:
    """The fixture items file the result `data` names, beside `path` (nothing if it names none of them)."""
    items = data.get("items") if isinstance(data, dict) else None
    if isinstance(items, dict) and items.get("sha256") in ITEMS_TEXTS and isinstance(items.get("file"), str):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        (Path(path).parent / items["file"]).write_text(ITEMS_TEXTS[items["sha256"]])


def write_pair(root: Path, wanda: dict[str, Any] | str | None = None) -> Path:
    """The dense parent and a Wanda result (or `wanda` in its place); returns the Wanda file's path."""
    write(root, DENSE_PATH, dense_data())
    return write(root, WANDA_PATH, wanda_data() if wanda is None else wanda)


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, if the block takes longer than `seconds` (a FIFO read would block forever)."""

    def expired(*_args: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
