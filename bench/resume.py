"""Resuming: a result file is reused only if its config hash is the one the run would write, so any change
to what a score depends on (task, data, prompt, engine, model, method params, calibration, embedding
variant, profile settings) reruns it."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from bench.assets import ModelRef
from bench.item_results import items_of
from bench.methods.base import Method
from bench.methods.calib_sources import text_hash
from bench.methods.calibration import CHARS_PER_TOKEN_ASKED, CalibrationConfig
from bench.profiles import Profile
from bench.run_config import (CalibrationSettings, MethodConfig, ModelConfig, ProfileConfig, RunConfig, TaskConfig,
                              config_hash)
from bench.schema import RunResult, load_result
from bench.taskspec import TaskSpec

ENGINE_PACKAGES = {"lm_eval": "lm_eval", "mteb": "mteb", "limit": "torch"}  # the package each backend runs on


def run_config(spec: TaskSpec, data_hash: str, limit: int | None, model: ModelRef, method: Method,
               calibration: CalibrationConfig, seeds: list[int], embed: str | None, profile: Profile) -> RunConfig:
    """The record a result of this run stores and hashes. `model` is what is evaluated (for `--method none`,
    the checkpoint: listed under its parent's name by the caller); `seeds` is set for a --seeds aggregate."""
    calibrated = method.needs_calibration
    return RunConfig(
        task=TaskConfig(name=spec.name, version=spec.version, data_hash=data_hash, upstream=spec.upstream,
                        backend=spec.backend, engine_version=importlib.metadata.version(ENGINE_PACKAGES[spec.backend]),
                        engine=spec.engine, max_length=spec.max_length, main_metric=spec.main_metric,
                        main_filter=spec.main_filter, limit=limit),
        model=ModelConfig(name=model.name, source=model.source, revision=model.revision),
        method=MethodConfig(name=method.name, params=method.params.model_dump(mode="json")),
        seeds=seeds or ([method.seed] if method.seeded else []),
        calibration=CalibrationSettings(
            source=calibration.source, samples=calibration.samples, seqlen=calibration.seqlen,
            text_hash=text_hash(calibration.source, calibration.samples * calibration.seqlen * CHARS_PER_TOKEN_ASKED,
                                calibration.seed),
        ) if calibrated else None,
        embed=embed,
        profile=ProfileConfig(device=profile.device, dtype=profile.dtype, batch_size=profile.batch_size,
                              embed_batch_size=profile.embed_batch_size),
    )


def finished(path: Path, config: RunConfig) -> RunResult | None:
    """The result at `path` if it holds what this config would compute (an unreadable file, one of an older
    schema, one whose config hash differs or whose per-item outputs are missing or altered is redone)."""
    if not path.exists():
        return None
    try:
        result = load_result(path)
    except ValueError:
        return None
    # its per-item outputs must be there, intact (every task has them but LIMIT's free-embedding search)
    items_intact = config.task.backend == "limit" or items_of(path, result) is not None
    return result if result.config_hash == config_hash(config) and items_intact else None
