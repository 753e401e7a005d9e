"""Benchmark: wall time of magnitude and Wanda pruning on the default LLM, side by side with one
calibration forward pass over the same data (`make bench`). Prints measured ratios."""

from __future__ import annotations

import time

import click
import torch

from bench.assets import MODELS, load_model
from bench.methods.base import make_method
from bench.methods.calibration import CalibrationConfig, build_calibration
from bench.profiles import PROFILES, activate


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--profile", default="cpu-2c", show_default=True)
@click.option("--pattern", default=None, help="N:M pattern; default 50% unstructured")
def main(model: str, profile: str, pattern: str | None) -> None:
    prof = PROFILES.get(profile)
    activate(prof)
    ref = MODELS.get(model)
    config = CalibrationConfig(prof.calib_samples, prof.calib_seqlen, seed=0)
    rows = []
    loaded = load_model(ref, prof.torch_dtype, prof.device)
    calib = build_calibration(loaded, config, prof.batch_size, prof.device)
    started = time.perf_counter()
    with torch.no_grad():
        for batch in calib.batches:
            calib.forward(batch)
    forward = time.perf_counter() - started
    rows.append(("one calibration forward pass", forward))
    for name in ("magnitude", "wanda"):
        method = make_method(name, {"pattern": pattern})
        loaded = load_model(ref, prof.torch_dtype, prof.device)
        started = time.perf_counter()
        facts = method.compress(loaded, calib if method.needs_calibration else None)
        rows.append((f"{method.slug()} (sparsity {facts.sparsity:.3f})", time.perf_counter() - started))
    click.echo(f"{ref.name}, profile {profile}, calibration {calib.record.samples} x {calib.record.seqlen} tokens")
    for label, seconds in rows:
        click.echo(f"{label:40} {seconds:8.2f} s   {seconds / forward:6.2f}x forward")


if __name__ == "__main__":
    main()
