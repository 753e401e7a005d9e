"""Reference hardware profiles as data: one YAML file per profile in the top-level profiles/ folder (inside a
built wheel: bench/_data/profiles), validated here. The machine a run sees is compared with the profile's
expectation in bench.machine."""

from __future__ import annotations

from typing import Any, Literal

import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field

from bench import BenchError
from bench.hardware import MachineSpec
from bench.registry import Registry
from bench.resources import resource_dir

PROFILES_DIR = resource_dir("profiles")

# Fast kernels a profile's hardware has (bench.measure uses one where a result's format fits it).
Kernel = Literal["int8_dynamic_cpu", "semi_structured_2_4_cuda", "faiss_flat", "faiss_binary", "faiss_int8"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threads(_Frozen):
    """Thread counts per library; None leaves that library's default."""

    torch: int | None = Field(default=None, ge=1)  # intra-op threads
    blas: int | None = Field(default=None, ge=1)  # numpy's BLAS/OpenMP pools (threadpoolctl)
    faiss: int | None = Field(default=None, ge=1)  # faiss.omp_set_num_threads


class MeasureSettings(_Frozen):
    """The fixed workload every result's speed is measured on (bench.measure)."""

    prompt_tokens: int = Field(default=128, ge=1)  # LLM prefill length
    new_tokens: int = Field(default=16, ge=2)  # LLM greedy tokens generated (min = max)
    repeats: int = Field(default=3, ge=1)  # timed repetitions: the median is reported, with min and max
    warmup: int = Field(default=1, ge=0)  # untimed repetitions first
    documents: int = Field(default=64, ge=1)  # encoder: documents encoded for documents/s
    queries: int = Field(default=100, ge=1)  # single-query searches timed for the latency percentiles


class Profile(_Frozen):
    """What a result was measured on: device, dtype, threads, batch sizes, calibration budget, the machine
    expected and the kernels it has."""

    name: str
    description: str
    device: Literal["cpu", "cuda", "mps"]
    dtype: Literal["float32", "float16", "bfloat16"]
    threads: Threads = Threads()
    batch_size: int  # LLM evaluation batch, and the batch its throughput is measured at
    embed_batch_size: int  # encoder batch
    calib_samples: int  # calibration sequences (Wanda paper: 128)
    calib_seqlen: int  # tokens per calibration sequence (Wanda paper: 2048)
    calib_source: str  # calibration text (bench.methods.calib_sources; the papers: c4)
    # Calibration sequences for a method that needs more (or fewer) than calib_samples: {method: samples}.
    calib_samples_by_method: dict[str, int] = Field(default_factory=dict)
    memory_gb: float  # the budget: a measured peak above it is flagged in the result
    # A calibrated method runs once per seed unless --seed is given, so every calibrated result carries the
    # spread of its calibration draw (README, "Seed variance").
    calib_seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    # Method params a careful user would set on this hardware, unless given: {method: {param: value}}.
    # They are ordinary params, so the slug names them (e.g. gptq-w4g128-act).
    method_defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    machine: MachineSpec = MachineSpec()
    kernels: list[Kernel] = Field(default_factory=list)
    measure: MeasureSettings = MeasureSettings()

    def calib_size(self, method: str) -> tuple[int, int]:
        """The calibration a method gets unless told otherwise: (sequences, tokens per sequence)."""
        return self.calib_samples_by_method.get(method, self.calib_samples), self.calib_seqlen

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_profile(text: str) -> Profile:
    """A profile from YAML text (bad fields raise pydantic's ValidationError)."""
    return Profile.model_validate(yaml.safe_load(text) or {})


PROFILES: Registry[Profile] = Registry("profile")

for _path in sorted(PROFILES_DIR.glob("*.yaml")):
    _profile = load_profile(_path.read_text())
    if _profile.name != _path.stem:  # a packaging bug: fail at import
        raise ValueError(f"{_path.name} names profile {_profile.name!r}: the file must be {_profile.name}.yaml")
    PROFILES.add(_profile.name, _profile)


def require_device(profile: Profile) -> None:
    """A GPU profile on a machine without that device is an error (never forced: nothing could run)."""
    if profile.device == "cuda" and not torch.cuda.is_available():
        raise BenchError(f"profile {profile.name!r} needs a CUDA device and none is visible; try --profile cpu-2c")
    if profile.device == "mps" and not torch.backends.mps.is_available():
        raise BenchError(f"profile {profile.name!r} needs Apple's mps device and none is visible; try --profile cpu-2c")


def activate(profile: Profile) -> None:
    """Check the profile's device is here and apply its thread counts (torch, numpy's BLAS, faiss)."""
    require_device(profile)
    if profile.threads.torch:
        torch.set_num_threads(profile.threads.torch)
    if profile.threads.blas:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=profile.threads.blas)  # a plain call: the limit stays for the process
    if profile.threads.faiss:
        import faiss

        faiss.omp_set_num_threads(profile.threads.faiss)
