"""The machine a result was measured on, and what its profile expected (schema models; bench.machine fills them)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from bench.strict import Strict


class Hardware(Strict):
    """The hardware a run actually saw (bench.machine.hardware_seen). Fields after gpu_memory_gb are None in
    files written before bench recorded them."""

    machine: str
    cpu: str
    cpu_count: int | None  # None: the OS did not say
    torch_threads: int
    gpu: str | None = None
    gpu_memory_gb: float | None = None
    ram_gb: float | None = None
    cuda_version: str | None = None  # the CUDA torch was built with
    driver_version: str | None = None  # the NVIDIA driver (nvidia-smi)


class MachineSpec(Strict):
    """What a profile's timings assume about the machine; None: anything goes."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    cpu_cores: int | None = Field(default=None, ge=1)  # at least this many
    cpu_pattern: str | None = None  # regular expression the CPU model must match
    ram_gb: float | None = Field(default=None, gt=0)  # at least this much
    gpu_pattern: str | None = None  # regular expression the GPU name must match
    gpu_memory_gb: float | None = Field(default=None, gt=0)  # nominal GB; at least 90% of it (GPUs report GiB)


class MachineCheck(Strict):
    """The profile's expectation beside the differences found; `forced`: the run went on despite them."""

    expected: MachineSpec
    mismatches: list[str] = Field(default_factory=list)
    forced: bool = False
