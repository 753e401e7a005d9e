"""Result schema v2: one JSON file per (model, method slug, profile, task), written atomically."""

from __future__ import annotations

import math
import re
import statistics
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bench.files import write_json_atomic
from bench.limit_points import CeilingPoint
from bench.hardware import Hardware, MachineCheck
from bench.measurements import Measurements
from bench.run_config import RunConfig, rerun_command
from bench.safe_json import check_json, read_capped_text
from bench.strict import Scalar, Strict

ModelKind = Literal["causal-lm", "encoder", "free-embedding"]  # the last: vectors optimised directly
Backend = Literal["lm_eval", "mteb", "limit"]  # the engine a task runs on (limit: the free-embedding search)


Fraction = Annotated[float, Field(ge=0, le=1)]


class ModelInfo(Strict):
    name: str  # hub-style "org/name"; local checkpoints are "local/<dir>"
    source: str  # where the weights came from: hub id, package or local/<folder> (never an absolute path)
    revision: str | None = None  # the hub commit resolved, package==version for a packaged default; None: local
    kind: ModelKind
    n_params: int = Field(ge=0)  # 0: a reference without weights (BM25, free embeddings)
    notes: str = ""  # shown on the leaderboard, e.g. "weights dequantized from a Q4_1 GGUF"
    weights_hash: str | None = None  # sha256 of the weights evaluated (bench.hashing); None: no weights

    @property
    def dirname(self) -> str:
        return model_dirname(self.name)


class MethodInfo(Strict):
    name: str
    params: dict[str, Scalar] = Field(default_factory=dict)
    slug: str


class TaskInfo(Strict):
    name: str
    version: int
    backend: Backend
    data_hash: str  # sha256 of the task data as evaluated
    n_items: int = Field(ge=0)  # 0 only for an upstream mteb task (bench.validate)
    limit: int | None = None  # set when the run scored only the first `limit` items
    engine_version: str
    # mteb: the splits and hf subsets every metric averages over (empty: not recorded, or not an mteb task)
    splits: list[str] = Field(default_factory=list)
    subsets: list[str] = Field(default_factory=list)


class Calibration(Strict):
    source: str
    samples: int
    seqlen: int
    seed: int
    data_hash: str  # sha256 of the calibration token ids
    unique_tokens: int | None = None  # distinct text tokens the windows cover (None: not recorded)


class CompressionFacts(Strict):
    """Measured on the compressed weights, never copied from the requested params. Fields that are
    None come from files written before bench measured them."""

    target_layers: int
    target_params: int
    sparsity: Fraction  # zeros / weights inside the repeated blocks: compressed layers + untouched weights
    param_sparsity: Fraction  # zeros / all parameters of the model
    storage_format: str  # how the compressed layers would be stored (bench.methods.storage)
    storage_bytes: int = Field(gt=0)  # bytes of the compressed layers in that format
    dense_bytes: int = Field(gt=0)  # the same layers as dense fp16
    # compressed layers only: 8 * storage_bytes / target_params, overheads included
    bits_per_weight: float = Field(gt=0, le=32)
    model_params: int | None = None  # every parameter of the model, tied weights once
    # compressed layers in their format, every other parameter as fp16; whole model: 8 * model_bytes / model_params
    model_bytes: int | None = Field(default=None, gt=0)
    model_bits_per_weight: float | None = Field(default=None, gt=0, le=32)
    untouched_params: int | None = None  # weights inside the blocks no method reached (e.g. 3-D MoE experts)
    untouched_weights: list[str] | None = None  # their names; counted as dense in sparsity and the model figure
    excluded_layers: list[str] = Field(default_factory=list)  # Linear layers outside the blocks, left dense


class VectorFacts(Strict):
    """What the stored embeddings cost, measured on the index built for the task."""

    codec: str  # "float" or an --embed variant's slug
    dims: int  # stored dimensions (bits for binary, codes for pq)
    bytes_per_vector: float = Field(gt=0)
    index_bytes: int = Field(gt=0)  # the corpus's vectors plus the codec's own tables (ranges, codebooks, projections)
    query_latency_ms_p50: float  # one query against the index, this machine
    query_latency_ms_p99: float | None = None  # None: files written before bench measured it
    search_kernel: str | None = None  # what searched: a faiss index (bench.profiles.Kernel) or "nominal" (numpy)


class DenseReference(Strict):
    main_score: float
    path: str  # the dense parent's result file, relative to the submissions root


class Efficiency(Strict):
    compress_seconds: float | None = None
    eval_seconds: float


class Environment(Strict):
    python: str
    packages: dict[str, str]
    git_hash: str | None
    seed: int


class SeedRun(Strict):
    """One seed of a multi-seed result (--seeds): what that seed's calibration draw (or random mask) scored."""

    seed: int
    main_score: float
    metrics: dict[str, float] = Field(default_factory=dict)
    calibration_hash: str | None = None  # sha256 of this seed's calibration token ids (None: no calibration)


class Spread(Strict):
    """How the main score varies over the seeds."""

    std: float  # sample standard deviation (ddof=1)
    min: float
    max: float


def seed_spread(scores: list[float]) -> Spread:
    return Spread(std=statistics.stdev(scores), min=min(scores), max=max(scores))


SCHEMA_VERSION = 2


class OutdatedResult(ValueError):
    """A result file of an older schema: the message says how to replace it, in one line."""
class ItemsRef(Strict):
    """The per-item outputs beside the result (bench.items): a swapped or edited file fails its sha256."""

    file: str  # `<task>.items.json`, in the result's own folder
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    n_items: int = Field(gt=0)


class Interval(Strict):
    """A bootstrap confidence interval (scipy.stats.bootstrap over the items), reproducible from its seed."""

    low: float
    high: float
    level: float = Field(gt=0, lt=1)
    method: Literal["percentile", "BCa"]
    n_resamples: int = Field(gt=0)
    seed: int


class RunResult(Strict):
    schema_version: Literal[2] = SCHEMA_VERSION

    @field_validator("schema_version", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        """`true` equals 1 in Python, so the literal alone would take a boolean for an integer."""
        if isinstance(value, bool):
            raise ValueError(f"must be the integer {SCHEMA_VERSION}, not a boolean")
        return value
    model: ModelInfo
    method: MethodInfo
    task: TaskInfo
    profile: str
    hardware: Hardware
    main_metric: str
    higher_is_better: bool
    main_score: float
    metrics: dict[str, float]
    dense_reference: DenseReference | None = None
    compression: CompressionFacts | None = None
    calibration: Calibration | None = None
    vectors: VectorFacts | None = None
    efficiency: Efficiency
    measurements: Measurements | None = None  # speed, size and memory (None: a model without weights, older files)
    machine_check: MachineCheck | None = None  # the profile's expected machine beside `hardware` (None: older files)
    environment: Environment
    date: datetime
    # A multi-seed aggregate: main_score and metrics are the means over these seeds; calibration,
    # compression and environment are the first seed's (each seed's calibration hash is in its run).
    seed_runs: list[SeedRun] = Field(default_factory=list)
    spread: Spread | None = None
    config: RunConfig  # everything that changes the score (bench.run_config)
    config_hash: str  # sha256 of `config`: resume reuses a result only when it equals the run's own
    items: ItemsRef | None = None  # None only for a task without items (the LIMIT ceiling tasks)
    ceilings: list[CeilingPoint] = Field(default_factory=list)  # LIMIT critical n per (protocol, precision, k, d)
    score_interval: Interval | None = None  # of main_score, over the items
    retained_interval: Interval | None = None  # of `retained` (a fraction), paired with the dense parent's items

    @model_validator(mode="after")
    def _aggregate_matches_its_seeds(self) -> RunResult:
        """A reviewer can recompute an aggregate: its score and spread must be those of its seeds."""
        if not self.seed_runs and self.spread is None:
            return self
        scores = [run.main_score for run in self.seed_runs]
        if len(scores) < 2 or self.spread is None:
            raise ValueError("a multi-seed result needs two or more seed_runs and their spread")
        if len({run.seed for run in self.seed_runs}) < len(scores):
            raise ValueError("seed_runs repeat a seed")
        expected = seed_spread(scores)
        pairs = [(self.main_score, statistics.fmean(scores)),
                 *((getattr(self.spread, f), getattr(expected, f)) for f in Spread.model_fields)]
        if not all(math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) for got, want in pairs):
            raise ValueError("main_score and spread must be the mean and spread of the seed_runs' scores")
        return self

    @property
    def retained(self) -> float | None:
        """Compressed score as a fraction of the dense parent's (inverted for lower-is-better)."""
        if self.dense_reference is None:
            return None
        return retained_fraction(self.main_score, self.dense_reference.main_score, self.higher_is_better)

    @property
    def retained_std(self) -> float | None:
        """Sample std of the seeds' own retained fractions (None: a single-seed result or no dense parent)."""
        if not self.seed_runs or self.dense_reference is None:
            return None
        fractions = [retained_fraction(run.main_score, self.dense_reference.main_score, self.higher_is_better)
                     for run in self.seed_runs]
        return None if None in fractions else statistics.stdev(fractions)


def retained_fraction(score: float, dense: float, higher_is_better: bool) -> float | None:
    """None where there is no finite ratio (a zero score, or one so small the ratio overflows)."""
    num, den = (score, dense) if higher_is_better else (dense, score)
    fraction = num / den if den else None
    return fraction if fraction is not None and math.isfinite(fraction) else None


def model_dirname(name: str) -> str:
    return name.replace("/", "__")


# What a name must be to become one folder or file name of a result's path: no separator, no "..", no
# control character (bench.validate rejects any other).
PATH_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def path_part(name: str) -> str:
    """`name` (e.g. a local checkpoint's folder) as a PATH_PART: runs of other characters become one dash."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", name).lstrip("._+-")[:128] or "model"


def result_path(root: Path, model_dirname: str, method_slug: str, profile: str, task: str) -> Path:
    return Path(root) / model_dirname / method_slug / profile / f"{task}.json"


def paths_for(root: Path, result: RunResult) -> Path:
    """Where `result` lives under the submissions folder `root`."""
    return result_path(root, result.model.dirname, result.method.slug, result.profile, result.task.name)


def save_result(result: RunResult, path: Path) -> None:
    write_json_atomic(path, result.model_dump(mode="json"))


def load_result(path: Path | str) -> RunResult:
    """A result file read as hostile input (bench.safe_json) and validated strictly: no type coercion (a
    score given as "0.5" is rejected); dates are ISO strings, as JSON has no date type. Raises ValueError."""
    text = read_capped_text(path)
    data = check_json(text)
    version = data.get("schema_version")
    if type(version) is int and version < SCHEMA_VERSION:
        def part(section: str, key: str = "name") -> object:
            return data[section].get(key) if isinstance(data.get(section), dict) else None

        command = rerun_command(part("model"), part("method"), part("task"), data.get("profile"))
        raise OutdatedResult(f"schema v{version} result (bench before per-item outputs and config hashes): re-run it "
                             f"with `{command}` and the method's params (v2 adds per-item outputs, intervals and "
                             "config hashes)")
    return RunResult.model_validate_json(text, strict=True)
