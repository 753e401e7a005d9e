"""Planning a run: every name resolved up front (so bad input fails before any model loads), and per weight
variant, which results are already written (resume by config hash) and which are still to run."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from bench import BenchError, backends, recipes
from bench.assets import DEFAULT_MODELS, MODELS, ModelRef, cache_dir, model_skeleton, resolve_model
from bench.hardware import MachineCheck
from bench.methods.base import Method
from bench.methods.calibration import CalibrationConfig
from bench.methods.embed import VectorVariant, parse_embed
from bench.profiles import PROFILES, Profile
from bench.resume import finished, run_config
from bench.run_config import RunConfig
from bench.schema import RunResult, model_dirname, result_path
from bench.seeds import planned_seeds
from bench.taskspec import TaskSpec, resolve_tasks


@dataclass
class RunRequest:
    method: str = "wanda"
    method_params: dict[str, object] = field(default_factory=dict)  # None values = not given
    model: str | None = None  # None: the default model of each kind the tasks need
    parent: str | None = None  # --method none: the dense model the checkpoint `model` came from
    suite: str | None = None
    tasks: list[str] | None = None
    profile: str = "cpu-2c"
    out: Path = Path("submissions")
    force: bool = False
    force_hardware: bool = False  # run on a machine that does not match the profile (recorded as forced)
    limit: int | None = None
    calib_samples: int | None = None
    calib_seqlen: int | None = None
    calib_source: str | None = None  # None: the profile's default (bench.methods.calib_sources)
    seed: int | None = None  # --seed: one run with this seed (None: the method's default seeds, bench.seeds)
    seeds: list[int] | None = None  # --seeds: one run per seed, stored as their aggregate
    trust_remote_code: bool = False
    embed: str | None = None  # --embed: comma-separated embedding variants (truncate:64,int8,...)


@dataclass
class Plan:
    profile: Profile
    method: Method
    calibration: CalibrationConfig
    groups: list[tuple[ModelRef, list[TaskSpec]]]  # (dense parent, its tasks)
    embed: list[VectorVariant] = field(default_factory=list)  # embedding variants for retrieval tasks
    checkpoint: ModelRef | None = None  # --method none: what is evaluated in place of compressing
    seeds: list[int] = field(default_factory=list)  # the seeds aggregated, sorted (empty: a single-seed run)
    machine: MachineCheck | None = None  # the profile's expected machine and how this one differs


def plan(request: RunRequest) -> Plan:
    """Resolve every name up front, so bad input fails before any model loads."""
    profile = PROFILES.get(request.profile)
    method, calibration, seeds = planned_seeds(request, profile)
    specs = resolve_tasks(request.suite, request.tasks)
    checkpoint = None
    if (method.name == "none") != bool(request.parent) or (request.parent and not request.model):
        raise BenchError("--method none evaluates a --model checkpoint as given and needs its dense --parent; "
                         "--parent goes with --method none only")
    if request.model:
        if request.parent:
            checkpoint = resolve_model(request.model, request.trust_remote_code)
        ref = resolve_model(request.parent or request.model, request.trust_remote_code)
        if checkpoint and checkpoint.kind != ref.kind:
            raise BenchError(f"--model is of kind {checkpoint.kind!r} but --parent is of kind {ref.kind!r}")
        matching = [s for s in specs if _takes(ref, s)]
        if not matching:
            raise BenchError(f"model {request.model!r} is of kind {ref.kind!r} and none of the tasks "
                             f"({', '.join(s.name for s in specs)}) takes one")
        groups = [(ref, matching)]
    else:
        kinds = list(dict.fromkeys(s.model_kind for s in specs))
        groups = [(MODELS.get(DEFAULT_MODELS[k]), [s for s in specs if s.model_kind == k]) for k in kinds]
    if method.params.width_multiple:  # layer shapes from the configs, so a misfit fails before any weights load
        for ref, _ in groups:
            if ref.weights:
                method.check_layers(model_skeleton(ref, request.trust_remote_code), ref.name)
    embed = parse_embed(request.embed) if request.embed else []
    if embed and not any(s.is_retrieval for _, group in groups for s in group):
        raise BenchError("--embed compresses retrieval embeddings: name an mteb task or the retrieval suite")
    if embed and any(ref.kind == "encoder" and not ref.weights for ref, _ in groups):
        raise BenchError("--embed compresses embeddings, and BM25 ranks by term statistics: it has no vectors")
    return Plan(profile=profile, method=method, calibration=calibration, groups=groups, checkpoint=checkpoint,
                embed=embed, seeds=seeds)


def _takes(ref: ModelRef, spec: TaskSpec) -> bool:
    """Whether the model can run the task: its kind, and BM25 (an encoder without vectors) only ranks."""
    return spec.model_kind == ref.kind and (ref.weights or ref.kind != "encoder" or spec.is_retrieval)


def task_data(spec: TaskSpec) -> recipes.TaskData:
    if spec.upstream:  # the engine loads the task's documents; their hash names the data
        return recipes.TaskData(files={}, data_hash=backends.upstream_data_hash(spec))
    return recipes.build(spec.name, spec.recipe, spec.recipe_args, cache_dir())


Target = tuple[str, "VectorVariant | None"]  # (task, embedding variant; None: the model's own vectors)


def targets(spec: TaskSpec, p: Plan, data: recipes.TaskData) -> list[Target]:
    variants = p.embed if spec.is_retrieval else []  # vectors are compressed for an index
    return [(spec.name, None)] + [(spec.name, v) for v in variants if not v.unfit(data.files.get("corpus"))]


def pending(request: RunRequest, p: Plan, ref: ModelRef, method: Method, specs: list[TaskSpec],
             data: dict[str, recipes.TaskData], log: Callable[[str], None]
             ) -> tuple[dict[Target, str], dict[Target, RunConfig], dict[Target, RunResult],
                        dict[str, list[VectorVariant | None]]]:
    """Each target's slug and config, the results already written, and the vector variants still to run per task."""
    slug_of, config_of = {}, {}
    results: dict[Target, RunResult] = {}
    todo: dict[str, list[VectorVariant | None]] = {}
    evaluated = replace(p.checkpoint, name=ref.name) if p.checkpoint and method.name == "none" else ref
    seeds = p.seeds if method is p.method else []  # the plan's seeds are the compressed aggregate's, never dense's
    for spec in specs:
        for target in targets(spec, p, data[spec.name]):
            variant = target[1]
            slug_of[target] = method.slug() + (f"+{variant.slug}" if variant else "")
            config_of[target] = run_config(spec, data[spec.name].data_hash, request.limit, evaluated, method,
                                           p.calibration, seeds, variant.slug if variant else None, p.profile)
            path = result_path(request.out, model_dirname(ref.name), slug_of[target], p.profile.name, spec.name)
            done = None if request.force else finished(path, config_of[target])
            if done:
                results[target] = done
                log(f"[{slug_of[target]}] {ref.name} {spec.name}: done already ({path})")
            else:
                todo.setdefault(spec.name, []).append(variant)
    return slug_of, config_of, results, todo
