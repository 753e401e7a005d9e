"""What a result measured about speed, size and memory (schema models; bench.measure fills them). Optional in
a result, so files written before bench measured them still validate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from bench.strict import Strict


class Rate(Strict):
    """Work per second: the median of `repeats` timed repetitions after warm-up, with their min and max."""

    median: float = Field(gt=0)
    low: float = Field(gt=0)
    high: float = Field(gt=0)
    repeats: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Rate:
        if not self.low <= self.median <= self.high:
            raise ValueError("a rate's low <= median <= high")
        return self


class Speedup(Strict):
    """A rate over the dense parent's, measured in the same process: the ratio of the medians, and the
    worst and best ratios the two ranges allow (low = slowest over the dense's fastest)."""

    median: float = Field(gt=0)
    low: float = Field(gt=0)
    high: float = Field(gt=0)


def speedup(rate: Rate, dense: Rate) -> Speedup:
    return Speedup(median=rate.median / dense.median, low=rate.low / dense.high, high=rate.high / dense.low)


class Speeds(Strict):
    """LLM: prefill and greedy decode tokens/s; encoder: documents/s (the other fields None)."""

    prefill_tokens_per_s: Rate | None = None
    decode_tokens_per_s: Rate | None = None
    documents_per_s: Rate | None = None


class Workload(Strict):
    """The fixed input every speed is measured on (the profile's `measure` settings)."""

    batch_size: int = Field(ge=1)
    prompt_tokens: int | None = None  # LLM
    new_tokens: int | None = None  # LLM: greedy, min_new_tokens = max_new_tokens
    documents: int | None = None  # encoder
    warmup: int = Field(ge=0)


class Measurements(Strict):
    kernel: str  # "nominal" (the weights run as dense tensors) or the fast kernel timed (bench.profiles.Kernel)
    device: Literal["cpu", "cuda", "mps"]
    workload: Workload
    speeds: Speeds  # this variant, as timed with `kernel`
    dense_speeds: Speeds  # its dense parent, same process, same workload
    prefill_speedup: Speedup | None = None
    decode_speedup: Speedup | None = None
    documents_speedup: Speedup | None = None
    # safetensors files written in the result's storage format and measured on disk (bench.model_file)
    model_file_bytes: int = Field(gt=0)  # the whole model: compressed layers packed, every other tensor fp16
    layers_file_bytes: int = Field(gt=0)  # the compressed (targeted) layers alone
    weights_memory_bytes: int = Field(gt=0)  # the tensors of the model as timed, in memory
    memory_ratio: float = Field(gt=0)  # weights_memory_bytes over the dense parent's
    peak_memory_bytes: int = Field(gt=0)  # during this task's evaluation: process RSS (cpu) or allocated (cuda)
    peak_memory_source: Literal["rss", "cuda", "mps"]
    over_budget: bool  # the peak exceeded the profile's memory budget
    seconds: float = Field(ge=0)  # spent measuring this weight variant (shared by its tasks' results)
    # The 1-minute load average when the timing began (the larger of the dense parent's and this variant's);
    # None where the system has none. Above the cores plus one, other work shared the CPU (busy()).
    load_average: float | None = Field(default=None, ge=0)


def busy(measurements: Measurements | None, cpu_count: int | None) -> bool:
    """Whether other work shared the CPU while this result was timed, so its speeds are unreliable: the load
    average above the machine's cores plus one (the timing process's own threads count up to its cores)."""
    load = measurements.load_average if measurements else None
    return load is not None and bool(cpu_count) and load > cpu_count + 1
