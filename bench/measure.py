"""Speed, size and memory of a weight variant, measured next to its dense parent in the same process.

Each speed is timed on a fixed workload (the profile's `measure` settings) after warm-up, as the median of
N repetitions with their min and max. The dense parent is timed once per process and model (before its
weights are compressed, or by the dense run that came first), so a sweep pays for it once.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

import psutil
import torch
from torch import nn

from bench.kernels import NOMINAL, kernel_for, tensor_bytes, with_kernel
from bench.measurements import Measurements, Rate, Speeds, Workload, speedup
from bench.methods.base import Method
from bench.model_file import measured_file_bytes
from bench.profiles import Profile

FIXED_SEED = 1234  # the prompt's token ids: the same for every variant of every run
DOCUMENT = "Compressed models are measured on the hardware they run on, with the kernels it has: {i}."


@dataclass
class VariantMeasure:
    """What is measured once per weight variant and shared by its tasks' results."""

    kernel: str
    workload: Workload
    speeds: Speeds
    dense_speeds: Speeds
    layers_file_bytes: int
    model_file_bytes: int
    weights_memory_bytes: int
    dense_weights_memory_bytes: int
    seconds: float
    load_average: float | None = None  # the larger of the two timings' (Measurements.load_average)


# (model, profile) -> the dense parent's speeds, weight bytes, and the load average when it was timed
_DENSE: dict[tuple[str, str], tuple[Speeds, int, float | None]] = {}


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the system keeps none)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def summary(rates: list[float]) -> Rate:
    return Rate(median=statistics.median(rates), low=min(rates), high=max(rates), repeats=len(rates))


def rate(work: Callable[[], Any], units: float, warmup: int, repeats: int, sync: Callable[[], None]) -> Rate:
    """`units` of work per second over `repeats` timed calls of `work`, after `warmup` untimed ones."""
    for _ in range(warmup):
        work()
    sync()
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        sync()
        rates.append(units / max(time.perf_counter() - started, 1e-9))
    return summary(rates)


def _sync(device: str) -> Callable[[], None]:
    return torch.cuda.synchronize if device == "cuda" else (torch.mps.synchronize if device == "mps" else lambda: None)


def workload(profile: Profile, kind: str) -> Workload:
    m = profile.measure
    if kind == "causal-lm":
        return Workload(batch_size=profile.batch_size, prompt_tokens=m.prompt_tokens, new_tokens=m.new_tokens,
                        warmup=m.warmup)
    return Workload(batch_size=profile.embed_batch_size, documents=m.documents, warmup=m.warmup)


class _Clock:
    """A logits processor that only notes when each new token's logits are ready: the first after the
    prompt's forward pass (prefill), each later one after one decode step."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync, self.times = sync, []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.sync()
        self.times.append(time.perf_counter())
        return scores


@torch.no_grad()
def llm_speeds(module: nn.Module, profile: Profile, load: Workload) -> Speeds:
    """Prefill tokens/s (prompt tokens over the time to the first new token's logits) and decode tokens/s
    (the new_tokens - 1 greedy steps after it), both from each of `repeats` greedy generations of exactly
    `new_tokens`, after `warmup` untimed ones of the same length (a shorter one leaves the first timed run to
    grow the KV cache's allocations: on a GPU that run decoded up to 14x slower than the others)."""
    from transformers import LogitsProcessorList

    generator = torch.Generator().manual_seed(FIXED_SEED)
    ids = torch.randint(3, module.config.vocab_size, (load.batch_size, load.prompt_tokens), generator=generator)
    ids = ids.to(profile.device)
    mask, sync = torch.ones_like(ids), _sync(profile.device)
    pad = module.config.eos_token_id if module.config.eos_token_id is not None else 0
    pad = pad[0] if isinstance(pad, list) else pad

    def generate(new_tokens: int) -> tuple[float, float]:
        clock = _Clock(sync)
        sync()
        started = time.perf_counter()
        module.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                        do_sample=False, pad_token_id=pad, logits_processor=LogitsProcessorList([clock]))
        return clock.times[0] - started, clock.times[-1] - clock.times[0]

    for _ in range(load.warmup):
        generate(load.new_tokens)
    runs = [generate(load.new_tokens) for _ in range(profile.measure.repeats)]
    return Speeds(prefill_tokens_per_s=summary([ids.numel() / max(p, 1e-9) for p, _ in runs]),
                  decode_tokens_per_s=summary([load.batch_size * (load.new_tokens - 1) / max(d, 1e-9)
                                               for _, d in runs]))


def encoder_speeds(module: Any, profile: Profile, load: Workload) -> Speeds:
    texts = [DOCUMENT.format(i=i) * (1 + i % 4) for i in range(load.documents)]

    def encode() -> None:
        module.encode(texts, batch_size=load.batch_size, convert_to_numpy=True, show_progress_bar=False)
    return Speeds(documents_per_s=rate(encode, len(texts), load.warmup, profile.measure.repeats,
                                       _sync(profile.device)))


def speeds(module: Any, kind: str, profile: Profile) -> Speeds:
    load = workload(profile, kind)
    return llm_speeds(module, profile, load) if kind == "causal-lm" else encoder_speeds(module, profile, load)


def dense_parent(module: Any, model_name: str, kind: str, profile: Profile) -> float:
    """Time the dense parent and count its weight bytes (call before compressing) unless this process already
    has; returns the seconds it took."""
    key, started = (model_name, profile.name), time.perf_counter()
    if key not in _DENSE:
        load = load_average()
        _DENSE[key] = speeds(module, kind, profile), tensor_bytes(module), load
    return time.perf_counter() - started


def has_dense_parent(model_name: str, profile: Profile) -> bool:
    return (model_name, profile.name) in _DENSE


def measure_variant(module: Any, model_name: str, kind: str, method: Method, profile: Profile,
                    dense_seconds: float = 0.0) -> VariantMeasure:
    """Time the (compressed) module with the kernel its format has on this profile, and write its files;
    `dense_seconds`: what timing its dense parent cost in this run (bench.evaluation.time_dense_parent)."""
    started, load = time.perf_counter(), load_average()
    dense_speeds, dense_bytes, dense_load = _DENSE[(model_name, profile.name)]  # timed before compressing
    compressed = method.name != "dense"
    kernel = kernel_for(method, profile) if compressed else NOMINAL
    try:
        timed = with_kernel(module, kernel)
        found = speeds(timed, kind, profile) if compressed else dense_speeds
    except (RuntimeError, ValueError, NotImplementedError):  # e.g. a shape the 2:4 kernel does not take
        if kernel == NOMINAL:
            raise
        kernel, timed = NOMINAL, module
        found = speeds(timed, kind, profile)
    memory = tensor_bytes(timed) if compressed else dense_bytes
    del timed
    storage = _storage(method) if compressed else None
    layers, whole = measured_file_bytes(module, storage)
    return VariantMeasure(kernel=kernel, workload=workload(profile, kind), speeds=found, dense_speeds=dense_speeds,
                          layers_file_bytes=layers, model_file_bytes=whole, weights_memory_bytes=memory,
                          dense_weights_memory_bytes=dense_bytes,
                          seconds=dense_seconds + time.perf_counter() - started,
                          load_average=max((x for x in (load if compressed else None, dense_load)
                                            if x is not None), default=None))


def _storage(method: Method) -> Any:
    """The params that name the method's storage format (bench.model_file), or None: stored dense."""
    return method.params if hasattr(method.params, "storage") else None


def measure_seed(shared: VariantMeasure, module: nn.Module, method: Method) -> VariantMeasure:
    """Another seed's measurement reused for this seed's variant: one format and shapes run at one speed, so its
    speeds and memory serve; the files are written again, since an unstructured format's size follows this
    seed's own zeros (a quantized kept weight can round to zero)."""
    started = time.perf_counter()
    layers, whole = measured_file_bytes(module, _storage(method))
    return replace(shared, layers_file_bytes=layers, model_file_bytes=whole, seconds=time.perf_counter() - started)


def result_measurements(variant: VariantMeasure, peak: int, source: str, profile: Profile) -> Measurements:
    """A result's measurements: its variant's, with the peak memory of its own evaluation."""
    pairs = {name: (getattr(variant.speeds, name), getattr(variant.dense_speeds, name))
             for name in ("prefill_tokens_per_s", "decode_tokens_per_s", "documents_per_s")}
    ratios = {name: speedup(*pair) if pair[0] and pair[1] else None for name, pair in pairs.items()}
    return Measurements(
        kernel=variant.kernel, device=profile.device, workload=variant.workload, speeds=variant.speeds,
        dense_speeds=variant.dense_speeds, prefill_speedup=ratios["prefill_tokens_per_s"],
        decode_speedup=ratios["decode_tokens_per_s"], documents_speedup=ratios["documents_per_s"],
        model_file_bytes=variant.model_file_bytes, layers_file_bytes=variant.layers_file_bytes,
        weights_memory_bytes=variant.weights_memory_bytes,
        memory_ratio=variant.weights_memory_bytes / variant.dense_weights_memory_bytes,
        peak_memory_bytes=peak, peak_memory_source=source, over_budget=peak > profile.memory_gb * 2**30,
        seconds=variant.seconds, load_average=variant.load_average)


class PeakMemory:
    """The peak memory while a block runs: CUDA's allocator peak, else the process RSS sampled every 5 ms."""

    def __init__(self, device: str) -> None:
        self.device, self.peak, self._stop = device, 0, threading.Event()

    @property
    def source(self) -> str:
        return "cuda" if self.device == "cuda" else "rss"

    @contextmanager
    def watch(self) -> Iterator[PeakMemory]:
        if self.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            yield self
            self.peak = max(self.peak, torch.cuda.max_memory_allocated())
            return
        process = psutil.Process()
        self.peak = max(self.peak, process.memory_info().rss)
        self._stop.clear()

        def sample() -> None:
            while not self._stop.wait(0.005):
                self.peak = max(self.peak, process.memory_info().rss)
        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.peak = max(self.peak, process.memory_info().rss)
