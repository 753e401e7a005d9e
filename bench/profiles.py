"""Reference hardware profiles and the hardware a run actually sees."""

from __future__ import annotations

import os
import platform
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from bench import BenchError
from bench.registry import Registry
from bench.schema import Hardware


class Profile(BaseModel):
    """What a result was measured on: device, dtype, batch sizes and calibration budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    device: Literal["cpu", "cuda"]
    dtype: Literal["float32", "float16", "bfloat16"]
    threads: int | None = None  # torch intra-op threads; None leaves torch's default
    batch_size: int  # LLM evaluation batch
    embed_batch_size: int  # encoder batch
    calib_samples: int  # calibration sequences (Wanda paper: 128)
    calib_seqlen: int  # tokens per calibration sequence (Wanda paper: 2048)
    calib_source: str  # calibration text (bench.methods.calib_sources; the papers: c4)
    # Calibration sequences for a method that needs more (or fewer) than calib_samples: {method: samples}.
    calib_samples_by_method: dict[str, int] = Field(default_factory=dict)
    memory_gb: float
    # A calibrated method runs once per seed unless --seed is given, so every calibrated result carries the
    # spread of its calibration draw (README, "Seed variance").
    calib_seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    # Method params a careful user would set on this hardware, unless given: {method: {param: value}}.
    # They are ordinary params, so the slug names them (e.g. gptq-w4g128-act).
    method_defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def calib_size(self, method: str) -> tuple[int, int]:
        """The calibration a method gets unless told otherwise: (sequences, tokens per sequence)."""
        return self.calib_samples_by_method.get(method, self.calib_samples), self.calib_seqlen

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)


PROFILES: Registry[Profile] = Registry("profile")

for _profile in [
    # Small enough that `make demo` finishes in minutes on 2 cores: 16 x 512 tokens of calibration, offline.
    # Chosen from `make bench`'s calibration table (README, "What calibration changes"): news text (mix
    # scores the same; wiki is the domain wiki_ppl scores), GPTQ with act-order (without it GPTQ loses to
    # RTN on this model), and 128 windows for SparseGPT (its Hessian needs them: with 16 it loses to Wanda
    # on perplexity, with 128 it wins on both tasks; Wanda's input norms settle with 16).
    Profile(name="cpu-2c", description="2 CPU cores, 24 GB (CI and the default)", device="cpu",
            dtype="float32", threads=2, batch_size=4, embed_batch_size=32,
            calib_samples=16, calib_seqlen=512, calib_source="news", memory_gb=24,
            calib_samples_by_method={"sparsegpt": 128},
            method_defaults={"gptq": {"act_order": True}}),
    # The GPU profiles calibrate as the Wanda and SparseGPT papers do: 128 x 2048 tokens of C4 (online).
    Profile(name="a100-80g", description="one NVIDIA A100 80 GB", device="cuda", dtype="float16",
            batch_size=32, embed_batch_size=256, calib_samples=128, calib_seqlen=2048, calib_source="c4",
            memory_gb=80),
    Profile(name="h100-80g", description="one NVIDIA H100 80 GB", device="cuda", dtype="bfloat16",
            batch_size=32, embed_batch_size=256, calib_samples=128, calib_seqlen=2048, calib_source="c4",
            memory_gb=80),
]:
    PROFILES.add(_profile.name, _profile)


def activate(profile: Profile) -> None:
    """Check the machine can run the profile and apply its thread count."""
    if profile.device == "cuda" and not torch.cuda.is_available():
        raise BenchError(f"profile {profile.name!r} needs a CUDA device and none is visible; try --profile cpu-2c")
    if profile.threads:
        torch.set_num_threads(profile.threads)


def hardware_seen() -> Hardware:
    """The hardware this process actually runs on, recorded in every result."""
    gpu = torch.cuda.get_device_properties(0) if torch.cuda.is_available() else None
    return Hardware(machine=platform.machine(), cpu=_cpu_model(), cpu_count=os.cpu_count(),
                    torch_threads=torch.get_num_threads(), gpu=gpu.name if gpu else None,
                    gpu_memory_gb=round(gpu.total_memory / 2**30, 1) if gpu else None)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
