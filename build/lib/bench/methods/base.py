"""The Method interface, its registry, and the measured facts every method reports."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, ClassVar

import torch
from torch import Tensor
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bench import BenchError
from bench.assets import LoadedModel
from bench.methods.calibration import CalibrationSet
from bench.methods.layerwise import target_layers
from bench.methods.llm.quant import QuantGrid
from bench.methods.storage import dense_bytes, n_m_bytes, quant_bytes, scale_bytes, sparse_bytes
from bench.registry import Registry
from bench.schema import CompressionFacts


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def slug(self) -> str:
        """The params' part of the method slug; empty when there are none."""
        return ""


def _check_fraction(value: float, what: str = "sparsity") -> float:
    if not 0 <= value < 1:
        raise ValueError(f"{what} must be in [0, 1), got {value}")
    return value


class PruneParams(NoParams):
    """Unstructured at `sparsity`, N:M semi-structured (`pattern` "2:4" keeps 2 of every 4), or a
    per-block `schedule` "A:B" ramping linearly from A at the first block to B at the last."""

    sparsity: float = 0.5
    pattern: str | None = None
    schedule: str | None = None

    @field_validator("sparsity")
    @classmethod
    def _sparsity_in_range(cls, value: float) -> float:
        return _check_fraction(value)

    @field_validator("pattern")
    @classmethod
    def _pattern_is_n_of_m(cls, value: str | None) -> str | None:
        if value is None:
            return None
        n, sep, m = value.partition(":")
        if not (sep and n.isdigit() and m.isdigit() and 0 < int(n) < int(m)):
            raise ValueError(f"pattern must be N:M with 0 < N < M, e.g. 2:4, got {value!r}")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_is_a_ramp(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            first, last = (float(x) for x in value.split(":"))
        except ValueError:
            raise ValueError(f"schedule must be FIRST:LAST sparsities, e.g. 0.3:0.7, got {value!r}") from None
        _check_fraction(first, "schedule sparsity")
        _check_fraction(last, "schedule sparsity")
        return value

    @model_validator(mode="after")
    def _derive_sparsity(self) -> "PruneParams":
        if self.n_m and self.schedule:
            raise ValueError("give either a pattern or a schedule, not both")
        if self.n_m:
            object.__setattr__(self, "sparsity", 1 - self.n_m[0] / self.n_m[1])
        elif self.schedule:
            first, last = (float(x) for x in self.schedule.split(":"))
            object.__setattr__(self, "sparsity", (first + last) / 2)
        return self

    @property
    def n_m(self) -> tuple[int, int] | None:
        if self.pattern is None:
            return None
        n, m = self.pattern.split(":")
        return int(n), int(m)

    def block_sparsity(self, index: int, n_blocks: int) -> float:
        if not self.schedule:
            return self.sparsity
        first, last = (float(x) for x in self.schedule.split(":"))
        return first + (last - first) * index / max(n_blocks - 1, 1)

    def slug(self) -> str:
        if self.n_m:
            return f"{self.n_m[0]}of{self.n_m[1]}"
        return f"sched{self.schedule.replace(':', 'to')}" if self.schedule else f"sp{self.sparsity:g}"

    def storage(self, weight: Tensor) -> tuple[str, int]:
        return n_m_bytes(weight, self.n_m[1]) if self.n_m else sparse_bytes(weight)


class Method(ABC):
    name: ClassVar[str]
    Params: ClassVar[type[NoParams]] = NoParams
    needs_calibration: ClassVar[bool] = False

    def __init__(self, params: NoParams, seed: int = 0) -> None:
        self.params = params
        self.seed = seed
        self.slug_suffix = ""  # set by the runner when calibration differs from the profile's

    def slug(self) -> str:
        params = self.params.slug()
        return (f"{self.name}-{params}" if params else self.name) + self.slug_suffix

    @abstractmethod
    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts | None:
        """Compress `model.module` in place and return facts measured on the result."""


METHODS: Registry[type[Method]] = Registry("method")


def register(cls: type[Method]) -> type[Method]:
    return METHODS.add(cls.name, cls)


StorageFn = Callable[[Tensor], tuple[str, int]]


def measure_facts(model: LoadedModel, storage: StorageFn) -> CompressionFacts:
    """Sparsity and storage measured on the compressed weights of the targeted layers."""
    layers = target_layers(model.module)
    targeted = set(map(id, layers.values()))
    weights = [layer.weight.detach() for layer in layers.values()]
    target_params = sum(w.numel() for w in weights)
    formats, stored = zip(*(storage(w) for w in weights))
    all_params = list(model.module.parameters())
    return CompressionFacts(
        target_layers=len(layers), target_params=target_params,
        sparsity=sum(int((w == 0).sum()) for w in weights) / target_params,
        param_sparsity=sum(int((p == 0).sum()) for p in all_params) / sum(p.numel() for p in all_params),
        storage_format=" | ".join(sorted(set(formats))), storage_bytes=sum(stored),
        dense_bytes=sum(map(dense_bytes, weights)), bits_per_weight=8 * sum(stored) / target_params,
        excluded_layers=[name for name, m in model.module.named_modules()
                         if isinstance(m, torch.nn.Linear) and id(m) not in targeted],
    )


@register
class Dense(Method):
    """The identity: the dense parent every compressed result is paired with."""

    name = "dense"

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts | None:
        return None


class QuantFields(NoParams):
    """Round-to-nearest grid: `bits` in 2..8, one scale per `group_size` inputs of a row (0 or
    None: one per row), asymmetric (a zero point per group) unless `symmetric`."""

    bits: int | None = 4
    group_size: int | None = 128
    symmetric: bool = False

    @field_validator("bits")
    @classmethod
    def _bits_in_range(cls, value: int | None) -> int | None:
        if value is not None and not 2 <= value <= 8:
            raise ValueError(f"bits must be in 2..8, got {value}")
        return value

    @field_validator("group_size")
    @classmethod
    def _group_size_positive(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"group size must be positive (0: one group per row), got {value}")
        return value or None

    @property
    def grid(self) -> QuantGrid | None:
        return QuantGrid(self.bits, self.symmetric) if self.bits else None

    def quant_slug(self) -> str:
        if not self.bits:
            return ""
        return f"w{self.bits}" + (f"g{self.group_size}" if self.group_size else "") + ("-sym" if self.symmetric else "")


class QuantParams(QuantFields):
    def slug(self) -> str:
        return self.quant_slug()

    def storage(self, weight: Tensor) -> tuple[str, int]:
        return quant_bytes(weight, self.bits, self.group_size)


class SparseQuantParams(PruneParams, QuantFields):
    """Pruning, optionally followed by quantization of the kept weights (`bits`)."""

    bits: int | None = None

    def slug(self) -> str:
        return "-".join(filter(None, [PruneParams.slug(self), self.quant_slug()]))

    def storage(self, weight: Tensor) -> tuple[str, int]:
        if not self.bits:
            return PruneParams.storage(self, weight)
        fmt, stored = n_m_bytes(weight, self.n_m[1], self.bits) if self.n_m else sparse_bytes(weight, self.bits)
        return f"{fmt}, int{self.bits} values + scales", stored + scale_bytes(weight, self.bits, self.group_size)


def make_method(name: str, params: dict[str, object], seed: int = 0) -> Method:
    """Build a method from CLI-style params (None = not given); bad params raise one-line errors."""
    cls = METHODS.get(name)
    given = {key: value for key, value in params.items() if value is not None}
    unknown = sorted(set(given) - set(cls.Params.model_fields))
    if unknown:
        raise BenchError(f"method {name!r} takes no {', '.join(unknown)}")
    try:
        return cls(cls.Params(**given), seed)
    except ValidationError as err:
        raise BenchError("; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())) from None

