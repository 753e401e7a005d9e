"""One weight variant's evaluation on a task, with what it measured: seconds, peak memory, and the variant's
speed and size (bench.measure), for every vector variant requested."""

from __future__ import annotations

import time
from typing import Callable, Iterator

from torch import nn

from bench import backends, recipes
from bench.assets import LoadedModel, ModelRef, load_model
from bench.backends import TaskOutcome
from bench.measure import PeakMemory, VariantMeasure, dense_parent, has_dense_parent, result_measurements
from bench.measurements import Measurements
from bench.methods.base import Method
from bench.methods.embed import VectorVariant
from bench.profiles import Profile
from bench.schema import VectorFacts
from bench.taskspec import TaskSpec

Evaluated = tuple["VectorVariant | None", TaskOutcome, "VectorFacts | None", float, "Measurements | None"]


def time_dense_parent(model: LoadedModel, ref: ModelRef, method: Method, profile: Profile) -> float:
    """Time the dense parent before `model` is compressed (once per process and model); returns the seconds
    it took. A pre-compressed checkpoint (`--method none`) is not its parent: the parent is loaded for it."""
    if not isinstance(model.module, nn.Module):
        return 0.0
    if method.name != "none" or has_dense_parent(ref.name, profile):
        return dense_parent(model.module, ref.name, ref.kind, profile)
    started = time.perf_counter()
    parent = load_model(ref, profile.torch_dtype, profile.device)
    return dense_parent(parent.module, ref.name, ref.kind, profile) + time.perf_counter() - started


def evaluate(spec: TaskSpec, model: LoadedModel, data: recipes.TaskData, profile: Profile, embed: bool,
             limit: int | None, variants: list[VectorVariant | None], measured: VariantMeasure | None,
             log: Callable[[str], None]) -> Iterator[Evaluated]:
    """(variant, outcome, vector facts, seconds, measurements) per requested variant. With embedding variants
    the model encodes each text once and every variant, the float one included, searches those vectors;
    their peak memory is the evaluation's so far."""
    peak = PeakMemory(profile.device)

    def measurements() -> Measurements | None:
        return result_measurements(measured, peak.peak, peak.source, profile) if measured else None

    if variants == [None] and not (spec.is_retrieval and embed):
        started = time.perf_counter()
        with peak.watch():
            outcome = backends.evaluate(spec, model, data, profile, limit)
        yield None, outcome, None, time.perf_counter() - started, measurements()
        return
    from bench.backends.embed_search import evaluate_variants

    with peak.watch():
        found_all = evaluate_variants(spec, model.module, data, profile, limit, variants)
    for found in found_all:
        if found.outcome is None:
            log(f"[{found.variant.slug}] {spec.name}: skipped, {found.skipped}")
        else:
            yield found.variant, found.outcome, found.facts, found.seconds, measurements()
