"""Many valid results for the site's scale benchmark and browser tests: model families, each a dense parent and
pruned, quantized and joint variants on wiki_ppl and capitals_mc, every file with its items and dense parent, so
`bench validate` accepts them all. Deterministic: result i is the same on every call."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from bench.methods.base import make_method
from bench.schema import model_dirname
from tests.submissions import (dense_data, items_ref, on_task, perplexity_items, run_config, sync_config, wanda_data,
                               with_config, write)

TASKS = ("wiki_ppl", "capitals_mc")
CAPITALS_ITEMS = 20
# (method, params, kind of facts): pruning, quantization and a joint variant, enough levels to draw curves.
VARIANTS = ([("magnitude", {"sparsity": s}) for s in (0.3, 0.5, 0.7)]
            + [("wanda", {"sparsity": s}) for s in (0.3, 0.5, 0.7)]
            + [("rtn", {"bits": b}) for b in (8, 4, 3)]
            + [("sparsegpt", {"sparsity": 0.5, "bits": 4})])
RESULTS_PER_FAMILY = len(TASKS) * (len(VARIANTS) + 1)


def _score(task: str, quality: float) -> float:
    """A score whose items reproduce it exactly: perplexity grows and accuracy falls as quality drops."""
    if task == "wiki_ppl":
        return round(30.0 / quality, 3)
    return round(CAPITALS_ITEMS * 0.8 * quality) / CAPITALS_ITEMS


def _items(task: str, score: float) -> dict[str, Any]:
    if task == "wiki_ppl":
        return perplexity_items(score)
    hits = round(score * CAPITALS_ITEMS)
    return items_ref(task, "acc", "mean", {"value": [1.0] * hits + [0.0] * (CAPITALS_ITEMS - hits)})


def _on(data: dict[str, Any], task: str, model: str, score: float) -> dict[str, Any]:
    data = copy.deepcopy(data)
    data["model"]["name"] = model
    data["model"]["source"] = f"hub:{model}"
    if task == "capitals_mc":
        data = on_task(data, task)
        data.update(main_metric="acc", higher_is_better=True)
    metric = data["main_metric"]
    data.update(main_score=score, metrics={metric: score}, items=_items(task, score))
    return sync_config(data)


def dense_result(model: str, task: str, notes: str = "") -> dict[str, Any]:
    data = _on(dense_data(), task, model, _score(task, 1.0))
    data["model"]["notes"] = notes
    return data


def variant_result(model: str, task: str, method: str, params: dict[str, Any], quality: float) -> dict[str, Any]:
    built = make_method(method, params)
    data = wanda_data()
    data["method"] = {"name": method, "params": built.params.model_dump(mode="json"), "slug": built.slug()}
    calibrated = built.needs_calibration
    if not calibrated:
        data.pop("calibration")
    bits = params.get("bits", 16)
    sparsity = params.get("sparsity", 0.0)
    layer_bits = max(bits * (1 - sparsity) + (1.0 if sparsity else 0.0), 0.5)
    data["compression"].update(sparsity=sparsity, param_sparsity=sparsity * 0.8, bits_per_weight=layer_bits,
                               storage_bytes=max(1, round(layer_bits)), model_bytes=max(1, round(layer_bits * 1.3)),
                               model_bits_per_weight=round(layer_bits * 1.3 * 0.8, 3))
    data = with_config(data, **run_config(method, data["method"]["params"], calibrated=calibrated))
    data = _on(data, task, model, _score(task, quality))
    data["dense_reference"] = {"main_score": _score(task, 1.0), "path": f"{model_dirname(model)}/dense/cpu-2c/{task}.json"}
    return data


def write_family(root: Path, model: str, notes: str = "") -> int:
    """One model family: its dense parent and every variant on every task; returns the number of files."""
    for task in TASKS:
        write(root, f"{model_dirname(model)}/dense/cpu-2c/{task}.json", dense_result(model, task, notes))
        for index, (method, params) in enumerate(VARIANTS):
            quality = 0.95 - 0.6 * params.get("sparsity", 0) - 0.05 * (8 - params.get("bits", 8)) - 0.01 * index
            data = variant_result(model, task, method, params, max(quality, 0.1))
            write(root, f"{model_dirname(model)}/{data['method']['slug']}/cpu-2c/{task}.json", data)
    return RESULTS_PER_FAMILY


def write_results(root: Path, n: int) -> int:
    """At least `n` results in whole families under `root`; returns how many."""
    families = -(-n // RESULTS_PER_FAMILY)
    return sum(write_family(root, f"org{i // 50}/model-{i}") for i in range(families))
