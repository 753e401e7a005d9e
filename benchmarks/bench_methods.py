"""Benchmark (`make bench`): every LLM method on the default model, side by side in one run.

Prints perplexity, retained %, measured sparsity and bits per weight, and compression wall time,
also as a ratio to one forward pass over the same calibration data (the Wanda paper's claim:
pruning costs about one forward pass). Results go to a temporary folder, not to submissions/.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import torch

from bench.assets import load_model
from bench.methods.calibration import CalibrationConfig, build_calibration
from bench.profiles import PROFILES, activate
from bench.runner import RunRequest, plan, run

VARIANTS = [
    ("random", {"sparsity": 0.5}), ("magnitude", {"sparsity": 0.5}), ("wanda", {"sparsity": 0.5}),
    ("sparsegpt", {"sparsity": 0.5}),
    ("random", {"pattern": "2:4"}), ("magnitude", {"pattern": "2:4"}), ("wanda", {"pattern": "2:4"}),
    ("sparsegpt", {"pattern": "2:4"}),
    ("rtn", {"bits": 4}), ("gptq", {"bits": 4}), ("rtn", {"bits": 3}), ("gptq", {"bits": 3}),
    ("sparsegpt", {"pattern": "2:4", "bits": 4}), ("lowrank", {"keep": 0.5}),
]


def calibration_forward_seconds(request: RunRequest) -> float:
    """Wall time of one forward pass of the model over the profile's calibration batches."""
    p = plan(request)
    ref = p.groups[0][0]
    model = load_model(ref, p.profile.torch_dtype, p.profile.device)
    calib = build_calibration(model, CalibrationConfig(p.calibration.samples, p.calibration.seqlen, 0),
                              p.profile.batch_size, p.profile.device)
    started = time.perf_counter()
    with torch.no_grad():
        for batch in calib.batches:
            calib.forward(batch)
    return time.perf_counter() - started


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--profile", default="cpu-2c", show_default=True)
@click.option("--task", default="wiki_ppl", show_default=True)
@click.option("--limit", type=int, default=None, help="Items of the task to score (default: all).")
@click.option("--methods", default=None, help="Comma-separated method names to keep (default: all).")
def main(model: str, profile: str, task: str, limit: int | None, methods: str | None) -> None:
    activate(PROFILES.get(profile))
    keep = set(methods.split(",")) if methods else None
    rows = []
    with tempfile.TemporaryDirectory() as out:
        base = dict(model=model, profile=profile, tasks=[task], out=Path(out), limit=limit)
        forward = calibration_forward_seconds(RunRequest(**base))
        for name, params in VARIANTS:
            if keep and name not in keep:
                continue
            started = time.perf_counter()
            (pair,) = run(RunRequest(method=name, method_params=params, **base), log=lambda _line: None)
            c = pair.compressed
            rows.append((c.method.slug, c.main_score, 100 * c.retained, c.compression.sparsity,
                         c.compression.bits_per_weight, c.compression.model_bits_per_weight,
                         c.efficiency.compress_seconds, time.perf_counter() - started))
        dense = pair.dense
    click.echo(f"{dense.model.name} on {task} ({dense.task.n_items} items), profile {profile}; "
               f"dense {dense.main_metric} {dense.main_score:.4g}; one calibration forward pass {forward:.1f} s")
    click.echo(f"{'method':28} {dense.main_metric:>16} {'retained':>9} {'sparsity':>9} {'bits/w layers':>13} "
               f"{'bits/w model':>12} {'compress s':>11} {'x forward':>10} {'total s':>8}")
    for slug, score, retained, sparsity, layer_bits, model_bits, seconds, total in rows:
        click.echo(f"{slug:28} {score:16.4g} {retained:8.1f}% {sparsity:9.3f} {layer_bits:13.2f} {model_bits:12.2f} "
                   f"{seconds:11.1f} {seconds / forward:10.2f} {total:8.1f}")


if __name__ == "__main__":
    main()
