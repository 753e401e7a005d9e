"""Benchmark (`make bench`): bench's GPTQ, SparseGPT and RTN against llm-compressor's, side by side.

Both compress the same model from the same calibration windows (bench's own, drawn once and handed
to llm-compressor as token ids) and both are scored by bench's wiki_ppl task through its lm-eval
backend, so only the compression differs. llm-compressor pins an older transformers than bench, so
it runs in its own virtualenv (`.venv-crosscheck`, built by `make bench`) through
`benchmarks/crosscheck_worker.py`, and its compressed weights are loaded into bench's model.
Expected: RTN identical (no weight differs), GPTQ and SparseGPT within a few percent.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import click
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from bench import BenchError, backends
from bench.assets import LoadedModel, load_model
from bench.methods.calibration import build_calibration
from bench.methods.layerwise import target_layers
from bench.runner import Plan, RunRequest, plan, task_data

REPO = Path(__file__).resolve().parents[1]
REFERENCE_PYTHON = REPO / ".venv-crosscheck" / "bin" / "python"


@dataclass(frozen=True)
class Variant:
    """One method as bench names it and as the worker (llm-compressor) is asked for it."""

    label: str
    method: str
    params: dict[str, object]
    reference_args: list[str] = field(default_factory=list)


# llm-compressor fits its group grids up front on the original weights: bench's --static-groups (gptq-static);
# bench's plain gptq refits each group where it starts, as the GPTQ paper's code does by default.
# With act-order, static groups keep groups in column order: llm-compressor's "static". Without static groups
# the groups follow the permuted order, llm-compressor's "group", which the pinned llm-compressor has removed
# ("actorder='group' has been removed"): bench's act-order without static groups has no counterpart there.
VARIANTS = [
    Variant("rtn", "rtn", {"bits": 4, "group_size": 128}, ["--bits", "4", "--group-size", "128"]),
    Variant("gptq", "gptq", {"bits": 4, "group_size": 128, "act_order": False}, ["--bits", "4", "--group-size", "128"]),
    Variant("gptq-static", "gptq", {"bits": 4, "group_size": 128, "act_order": False, "static_groups": True},
            ["--bits", "4", "--group-size", "128"]),
    Variant("gptq-actorder-static", "gptq", {"bits": 4, "group_size": 128, "act_order": True, "static_groups": True},
            ["--bits", "4", "--group-size", "128", "--actorder", "static"]),
    Variant("sparsegpt", "sparsegpt", {"sparsity": 0.5}, ["--sparsity", "0.5"]),
]


def compressed_weights(model: LoadedModel) -> dict[str, torch.Tensor]:
    return {f"{name}.weight": layer.weight.detach().clone() for name, layer in target_layers(model.module).items()}


def differing_share(ours: dict[str, torch.Tensor], theirs: dict[str, torch.Tensor]) -> float:
    """The share of compressed weights that are not exactly equal in the two models."""
    if ours.keys() != theirs.keys():
        raise BenchError(f"the two implementations compressed different layers: {sorted(ours.keys() ^ theirs.keys())[:3]}")
    differ = sum(int((ours[k] != theirs[k].to(ours[k].dtype)).sum()) for k in ours)
    return differ / sum(t.numel() for t in ours.values())


def load_weights(model: LoadedModel, weights: dict[str, torch.Tensor]) -> None:
    unexpected = model.module.load_state_dict(weights, strict=False).unexpected_keys
    if unexpected:
        raise BenchError(f"llm-compressor returned weights the model does not have: {unexpected[:3]}")


def run_reference(python: Path, model_dir: Path, windows: Path, variant: Variant, batch_size: int, damp: float | None,
                  work: Path) -> dict[str, torch.Tensor]:
    """llm-compressor's compressed weights, from the worker in its own virtualenv; its output goes to a log."""
    out, log = work / f"{variant.label}.safetensors", work / f"{variant.label}.log"
    command = [str(python), "-m", "benchmarks.crosscheck_worker", "--model", str(model_dir), "--windows", str(windows),
               "--method", variant.method, "--batch-size", str(batch_size), "--out", str(out), *variant.reference_args,
               *(["--damp", str(damp)] if damp is not None else [])]
    with log.open("w") as sink:
        done = subprocess.run(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    if done.returncode:
        tail = log.read_text().strip().splitlines()[-1:] or ["no output"]
        raise BenchError(f"llm-compressor {variant.label} failed: {tail[0]}")
    return load_file(out)


def score(model: LoadedModel, p: Plan, limit: int | None) -> float:
    spec = p.groups[0][1][0]
    return backends.evaluate(spec, model, task_data(spec), p.profile, limit).metrics[spec.main_metric]


def crosscheck(variant: Variant, request: RunRequest, python: Path, damp: float | None, work: Path,
               limit: int | None) -> dict[str, object] | None:
    params = {**variant.params, **({"damp": damp} if damp is not None and variant.method != "rtn" else {})}
    try:
        p = plan(replace(request, method=variant.method, method_params=params))
    except BenchError as err:  # an option this bench does not have yet (act-order, --damp)
        click.echo(f"{variant.label}: skipped, {err}")
        return None
    ref = p.groups[0][0]
    ours = load_model(ref, p.profile.torch_dtype, p.profile.device)
    calib = build_calibration(ours, p.calibration, p.profile.batch_size, p.profile.device)
    windows = work / "windows.safetensors"
    save_file({"input_ids": torch.cat(calib.batches).cpu().contiguous()}, str(windows))
    p.method.compress(ours, calib if p.method.needs_calibration else None)
    theirs = load_model(ref, p.profile.torch_dtype, p.profile.device)
    load_weights(theirs, run_reference(python, Path(ref.locate()), windows, variant, p.profile.batch_size,
                                       damp if variant.method != "rtn" else None, work))
    ours_score, theirs_score = score(ours, p, limit), score(theirs, p, limit)
    return {"variant": variant.label, "bench": ours_score, "llm-compressor": theirs_score,
            "difference %": 100 * (theirs_score - ours_score) / ours_score,
            "weights differing %": 100 * differing_share(compressed_weights(ours), compressed_weights(theirs)),
            "calibration": f"{calib.record.samples}x{calib.record.seqlen} {calib.record.data_hash[:12]}"}


@click.command()
@click.option("--model", default="smollm2-135m", show_default=True)
@click.option("--profile", default="cpu-2c", show_default=True)
@click.option("--methods", default=None,
              help=f"Comma-separated variants to keep (default: all of {', '.join(v.label for v in VARIANTS)}).")
@click.option("--calib-samples", type=int, default=None, help="Calibration windows (default: the profile's).")
@click.option("--calib-seqlen", type=int, default=None, help="Tokens per window (default: the profile's).")
@click.option("--damp", type=float, default=None, help="Dampening for GPTQ and SparseGPT (default: both 0.01).")
@click.option("--limit", type=int, default=None, help="wiki_ppl passages to score (default: all).")
@click.option("--python", "python", type=click.Path(dir_okay=False, path_type=Path), default=REFERENCE_PYTHON,
              show_default=True, help="The interpreter of the virtualenv holding llm-compressor.")
def main(model: str, profile: str, methods: str | None, calib_samples: int | None, calib_seqlen: int | None,
         damp: float | None, limit: int | None, python: Path) -> None:
    if not python.exists():
        raise click.ClickException(f"{python} not found: `make bench` builds .venv-crosscheck with llm-compressor")
    keep = set(methods.split(",")) if methods else {v.label for v in VARIANTS}
    unknown = keep - {v.label for v in VARIANTS}
    if unknown:
        raise click.BadParameter(f"unknown variant(s) {', '.join(sorted(unknown))}", param_hint="--methods")
    request = RunRequest(model=model, profile=profile, tasks=["wiki_ppl"], calib_samples=calib_samples,
                         calib_seqlen=calib_seqlen, seed=0, limit=limit)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for variant in (v for v in VARIANTS if v.label in keep):
            try:
                row = crosscheck(variant, request, python, damp, Path(work), limit)
            except BenchError as err:  # one variant failing (e.g. the reference refuses it) leaves the others
                click.echo(f"{variant.label}: failed, {err}")
                continue
            if row:  # each as it finishes: a GPTQ pair takes many minutes on 2 cores
                click.echo(f"{variant.label}: bench {row['bench']:.3f}, llm-compressor {row['llm-compressor']:.3f}")
                rows.append(row)
    click.echo(f"wiki_ppl (word perplexity) of {model}, profile {profile}, same calibration windows and evaluation:")
    click.echo(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}") if rows else "no variant ran")


if __name__ == "__main__":
    try:
        main(standalone_mode=True)
    except BenchError as error:
        raise SystemExit(f"error: {error}") from None
