"""The one orchestrator: model -> method -> tasks -> result files (atomic, resumable), for the plan and the
results still to run that bench.planning works out."""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from torch import nn

from bench.assets import ModelRef, load_model
from bench.evaluation import evaluate, time_dense_parent
from bench.hashing import weights_hash
from bench.item_results import seed_items, with_items
from bench.machine import check_machine, hardware_seen
from bench.measure import VariantMeasure, measure_seed, measure_variant
from bench.methods.base import Method, make_method
from bench.methods.calibration import build_calibration
from bench.methods.facts import describe
from bench.planning import Plan, RunRequest, Target, pending, plan, targets, task_data
from bench.profiles import activate
from bench.provenance import environment
from bench.recipes import TaskData
from bench.run_config import config_hash
from bench.schema import DenseReference, Efficiency, RunResult, TaskInfo, paths_for, save_result
from bench.seeds import SEED_RUNS_DIR, aggregate, seeded_method, submissions_root
from bench.taskspec import TaskSpec


@dataclass
class Pair:
    """A compressed result next to its dense parent's, for the summary table."""

    dense: RunResult
    compressed: RunResult


def run(request: RunRequest, log: Callable[[str], None] = print) -> list[Pair]:
    return execute(request, plan(request), log)


def run_all(requests: list[RunRequest], log: Callable[[str], None] = print,
            capture: AbstractContextManager = nullcontext()) -> list[Pair]:
    """Several variants (a sweep): every request is checked before any runs (and before `capture`, which
    takes the engines' output while they run, is entered); the dense parent's results, written by
    the first, are reused by the rest (with --force too: it is recomputed once, not once per variant)."""
    plans = [plan(request) for request in requests]
    with capture:
        return [pair for i, (request, p) in enumerate(zip(requests, plans))
                for pair in execute(request, p, log, force_dense=request.force and i == 0)]


def execute(request: RunRequest, p: Plan, log: Callable[[str], None], force_dense: bool | None = None) -> list[Pair]:
    # Checked where the run happens (a sweep plans on one machine and may run on another), before any model loads.
    p.machine = check_machine(p.profile, hardware_seen(), request.force_hardware)
    activate(p.profile)
    dense = make_method("dense", {})
    dense_request = replace(request, force=request.force if force_dense is None else force_dense)
    pairs = []
    for ref, specs in p.groups:
        data = {s.name: task_data(s) for s in specs}
        for spec, variant in [(s, v) for s in specs if s.is_retrieval for v in p.embed]:
            if reason := variant.unfit(data[spec.name].files.get("corpus")):
                log(f"[+{variant.slug}] {ref.name} {spec.name}: not run, {reason}")
        dense_results = _run_variant(dense_request, p, ref, dense, specs, data, {}, log)
        pairs += [Pair(dense=dense_results[(s.name, None)], compressed=dense_results[target])
                  for s in specs for target in targets(s, p, data[s.name]) if target[1] and target in dense_results]
        if p.method.name == "dense":
            continue
        if not ref.weights:
            log(f"[{p.method.slug()}] {ref.name} has no weights to compress: only its reference row runs")
            continue
        compressed = (_run_seeds(request, p, ref, specs, data, dense_results, log) if p.seeds
                      else _run_variant(request, p, ref, p.method, specs, data, dense_results, log))
        pairs += [Pair(dense=dense_results[(s.name, None)], compressed=compressed[target])
                  for s in specs for target in targets(s, p, data[s.name]) if target in compressed]
    return pairs


def _run_seeds(request: RunRequest, p: Plan, ref: ModelRef, specs: list[TaskSpec], data: dict[str, TaskData],
               dense: dict[Target, RunResult], log: Callable[[str], None]) -> dict[Target, RunResult]:
    """Several seeds: each runs as `--seed N` would, into the hidden seed folder (a rerun skips the seeds
    already written there), then every target's seeds are summed up in one aggregate result file."""
    slug_of, config_of, results, todo = pending(request, p, ref, p.method, specs, data, log)
    per_seed, measured = {}, []  # the first seed's measurements serve every seed: one format, one speed
    for seed in p.seeds if todo else []:
        method, calibration = seeded_method(request, p.profile, seed)
        per_seed[seed] = _run_variant(replace(request, seed=seed, seeds=None, out=request.out / SEED_RUNS_DIR),
                                      replace(p, method=method, calibration=calibration, seeds=[]), ref, method,
                                      [s for s in specs if s.name in todo], data, dense, log, measured)
    for target in [(name, variant) for name, variants in todo.items() for variant in variants]:
        if all(target in runs for runs in per_seed.values()):  # a vector variant may not fit the task
            runs = {seed: runs[target] for seed, runs in per_seed.items()}
            combined = aggregate(runs, slug_of[target], config_of[target])
            path = paths_for(request.out, combined)
            items = seed_items({seed: paths_for(request.out / SEED_RUNS_DIR, run) for seed, run in runs.items()}, runs)
            reference = dense.get((target[0], None))
            results[target] = with_items(combined, items, path, reference and paths_for(request.out, reference),
                                         reference)
            save_result(results[target], path)
            log(f"[{slug_of[target]}] {ref.name} {target[0]}: {results[target].main_metric} = "
                f"{results[target].main_score:.4g} ± {results[target].spread.std:.2g} over seeds -> {path}")
    return results


def _run_variant(request: RunRequest, p: Plan, ref: ModelRef, method: Method, specs: list[TaskSpec],
                 data: dict[str, TaskData], dense: dict[Target, RunResult],
                 log: Callable[[str], None], measured_once: list[VariantMeasure] | None = None) -> dict[Target, RunResult]:
    """Evaluate one weight variant (dense or compressed) on every task and vector variant not done yet.
    `measured_once`: another seed's measurement of this method (same format and shapes: same speed), reused
    with this seed's own files (bench.measure.measure_seed); if empty, this variant's is added to it."""
    by_name = {s.name: s for s in specs}
    slug_of, config_of, results, todo = pending(request, p, ref, method, specs, data, log)
    if not todo:
        return results

    source = p.checkpoint if p.checkpoint and method.name == "none" else ref
    log(f"[{method.slug()}] loading {source.name} ({p.profile.dtype} on {p.profile.device})...")
    model = load_model(source, p.profile.torch_dtype, p.profile.device)
    if source is not ref:  # a pre-compressed checkpoint is listed under its parent's name
        model.info = model.info.model_copy(update={"name": ref.name, "notes": f"pre-compressed checkpoint {source.source}"})
    dense_seconds = time_dense_parent(model, ref, method, p.profile)  # before compressing: one process times both
    calib = None
    if method.name not in ("dense", "none"):  # a progress line while it works; `none` only measures
        step = "calibrating and compressing" if method.needs_calibration else "compressing"
        log(f"[{method.slug()}] {ref.name}: {step}...")
    if method.needs_calibration:
        calib = build_calibration(model, p.calibration, p.profile.batch_size, p.profile.device,
                                  warn=lambda message: log(f"[{method.slug()}] warning: {message}"))
    started = time.perf_counter()
    facts = method.compress(model, calib)
    compress_seconds = time.perf_counter() - started if method.name != "dense" else None
    for line in describe(facts, compress_seconds) if facts else []:
        log(f"[{method.slug()}] {line}")
    if isinstance(model.module, nn.Module):  # once per weight variant: the weights every task below scores
        model.info = model.info.model_copy(update={"weights_hash": weights_hash(model.module)})
    measured = None
    if measured_once:
        measured = measure_seed(measured_once[0], model.module, method)
    elif isinstance(model.module, nn.Module):
        measured = measure_variant(model.module, ref.name, ref.kind, method, p.profile, dense_seconds)
        if measured_once is not None:
            measured_once.append(measured)

    for name, variants in todo.items():
        spec = by_name[name]
        log(f"[{method.slug()}] {ref.name} {name}: evaluating...")
        for variant, outcome, vector_facts, seconds, measurements in evaluate(
                spec, model, data[name], p.profile, bool(p.embed), request.limit, variants, measured, log):
            target = (name, variant)
            slug = slug_of[target]
            # Vector variants of the dense weights pair with the dense float result of this same run.
            reference = dense.get((name, None)) or (results.get((name, None)) if variant else None)
            result = RunResult(
                model=model.info,
                method={"name": method.name, "params": method.params.model_dump(), "slug": slug},
                task=TaskInfo(name=name, version=spec.version, backend=spec.backend,
                              data_hash=data[name].data_hash, n_items=outcome.n_items,
                              limit=request.limit, engine_version=outcome.engine_version,
                              splits=outcome.splits, subsets=outcome.subsets),
                profile=p.profile.name, hardware=hardware_seen(), machine_check=p.machine,
                main_metric=spec.main_metric, higher_is_better=spec.higher_is_better,
                main_score=outcome.metrics[spec.main_metric], metrics=outcome.metrics, ceilings=outcome.ceilings,
                dense_reference=DenseReference(
                    main_score=reference.main_score,
                    path=str(paths_for(Path(), reference)),  # relative to the submissions root
                ) if reference else None,
                compression=facts, calibration=calib.record if calib else None, vectors=vector_facts,
                efficiency=Efficiency(compress_seconds=compress_seconds, eval_seconds=seconds),
                measurements=measurements,
                environment=environment(p.calibration.seed), date=datetime.now(timezone.utc),
                config=config_of[target], config_hash=config_hash(config_of[target]),
            )
            path = paths_for(request.out, result)
            result = with_items(result, outcome.items, path,
                                reference and paths_for(submissions_root(request.out), reference), reference)
            save_result(result, path)
            results[target] = result
            log(f"[{slug}] {ref.name} {name}: {spec.main_metric} = {result.main_score:.4g} "
                f"in {seconds:.0f} s -> {path}")
    return results
