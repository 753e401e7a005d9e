"""The config hash: one sha256 over everything that changes a score, computed from a typed record that the
result file stores beside it, so a reviewer sees what was hashed and can recompute it. Dates, timings,
hardware and paths are not in it: they do not change a score."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import JsonValue

from bench.strict import Scalar, Strict


class TaskConfig(Strict):
    name: str
    version: int
    data_hash: str  # sha256 of the data evaluated (bench.recipes, or the engine's own documents)
    upstream: str | None  # the engine's own task name
    backend: str
    engine_version: str  # the engine package's version
    engine: dict[str, JsonValue]  # the spec's engine settings: prompt, few-shot, generation, filters
    max_length: int | None
    main_metric: str
    main_filter: str | None
    limit: int | None  # only the first `limit` items scored


class ModelConfig(Strict):
    name: str
    source: str  # hub id, package or local/<folder>: never a path of this machine
    revision: str | None  # resolved hub commit or package==version; None for a local folder


class MethodConfig(Strict):
    name: str
    params: dict[str, Scalar]


class CalibrationSettings(Strict):
    source: str  # as named on the command line (news, wiki, c4, org/name:config)
    samples: int
    seqlen: int  # as asked; a model with a shorter context caps it
    text_hash: str  # sha256 of the source's text the windows are drawn from


class ProfileConfig(Strict):
    device: Literal["cpu", "cuda", "mps"]
    dtype: str
    batch_size: int
    embed_batch_size: int


class RunConfig(Strict):
    task: TaskConfig
    model: ModelConfig
    method: MethodConfig
    seeds: list[int]  # the seeds the result depends on: [] for a method the seed does not change
    calibration: CalibrationSettings | None  # None: a data-free method
    embed: str | None  # the embedding variant's slug (None: the model's own vectors)
    profile: ProfileConfig


def config_hash(config: RunConfig) -> str:
    """sha256 hex of the record's canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def rerun_command(model: object, method: object, task: object, profile: object) -> str:
    """The `bench run` line that replaces a result (add the method's params); parts not given as text are
    left as placeholders, as they may come from a file that failed to validate."""
    parts = [(flag, value if isinstance(value, str) else placeholder) for flag, value, placeholder in
             [("--model", model, "MODEL"), ("--method", method, "METHOD"), ("--tasks", task, "TASK"),
              ("--profile", profile, "PROFILE")]]
    return "bench run " + " ".join(f"{flag} {value}" for flag, value in parts) + " --force"
