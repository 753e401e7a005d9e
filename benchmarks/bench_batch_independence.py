"""Benchmark (`make bench`): the default model's GPTQ perplexity across calibration batch sizes.

The same calibration windows, split into batches of 1, 4 and 16: the Hessians are summed window by
window in float64, so the compressed weights, and the perplexity, must not move with the batch size.
Prints each batch size's score, compression wall time and the fraction of compressed weights that
differ from the first batch size's.
"""

from __future__ import annotations

import time

import click
import torch

from bench import backends
from bench.assets import load_model
from bench.methods.calibration import build_calibration
from bench.methods.layerwise import target_layers
from bench.profiles import PROFILES, activate
from bench.runner import RunRequest, plan, task_data


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--profile", default="cpu-2c", show_default=True)
@click.option("--task", default="wiki_ppl", show_default=True)
@click.option("--limit", type=int, default=None, help="Items of the task to score (default: all).")
@click.option("--method", default="gptq", show_default=True, help="A calibrated method (gptq, sparsegpt, wanda).")
@click.option("--batch-sizes", default="1,4,16", show_default=True, help="Calibration batch sizes, comma-separated.")
def main(model: str, profile: str, task: str, limit: int | None, method: str, batch_sizes: str) -> None:
    activate(PROFILES.get(profile))
    p = plan(RunRequest(method=method, model=model, profile=profile, tasks=[task], limit=limit))
    ref, specs = p.groups[0]
    spec = specs[0]
    data = task_data(spec)
    first = None
    rows = []
    for batch_size in (int(size) for size in batch_sizes.split(",")):
        loaded = load_model(ref, p.profile.torch_dtype, p.profile.device)
        calib = build_calibration(loaded, p.calibration, batch_size, p.profile.device)
        started = time.perf_counter()
        p.method.compress(loaded, calib)
        seconds = time.perf_counter() - started
        weights = torch.cat([layer.weight.detach().flatten() for layer in target_layers(loaded.module).values()])
        first = weights if first is None else first
        score = backends.evaluate(spec, loaded, data, p.profile, limit).metrics[spec.main_metric]
        rows.append((batch_size, score, seconds, (weights != first).double().mean().item()))
    click.echo(f"{ref.name} {p.method.slug()} on {task}, profile {profile}, calibration "
               f"{p.calibration.samples} x {p.calibration.seqlen} tokens, split into batches of:")
    click.echo(f"{'batch':>5} {spec.main_metric:>16} {'compress s':>11} {'weights differing':>18}")
    for batch_size, score, seconds, differing in rows:
        click.echo(f"{batch_size:5d} {score:16.6g} {seconds:11.1f} {differing:17.4%}")


if __name__ == "__main__":
    main()
