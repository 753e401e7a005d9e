"""The Method interface, its registry, and the measured facts every method reports."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from bench import BenchError
from bench.assets import LoadedModel
from bench.methods.calibration import CalibrationSet
from bench.methods.layerwise import target_layers
from bench.registry import Registry
from bench.schema import CompressionFacts


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def slug(self) -> str:
        """The params' part of the method slug; empty when there are none."""
        return ""


class PruneParams(NoParams):
    """Unstructured at `sparsity`, or N:M semi-structured (`pattern` "2:4" keeps 2 of every 4)."""

    sparsity: float = 0.5
    pattern: str | None = None

    @field_validator("sparsity")
    @classmethod
    def _sparsity_in_range(cls, value: float) -> float:
        if not 0 <= value < 1:
            raise ValueError(f"sparsity must be in [0, 1), got {value}")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern_is_n_of_m(cls, value: str | None) -> str | None:
        if value is None:
            return None
        n, sep, m = value.partition(":")
        if not (sep and n.isdigit() and m.isdigit() and 0 < int(n) < int(m)):
            raise ValueError(f"pattern must be N:M with 0 < N < M, e.g. 2:4, got {value!r}")
        return value

    @model_validator(mode="after")
    def _pattern_sets_sparsity(self) -> "PruneParams":
        if self.n_m:
            object.__setattr__(self, "sparsity", 1 - self.n_m[0] / self.n_m[1])
        return self

    @property
    def n_m(self) -> tuple[int, int] | None:
        if self.pattern is None:
            return None
        n, m = self.pattern.split(":")
        return int(n), int(m)

    def slug(self) -> str:
        return f"{self.n_m[0]}of{self.n_m[1]}" if self.n_m else f"sp{self.sparsity:g}"


class Method(ABC):
    name: ClassVar[str]
    Params: ClassVar[type[NoParams]] = NoParams
    needs_calibration: ClassVar[bool] = False

    def __init__(self, params: NoParams) -> None:
        self.params = params
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


def measure_sparsity(model: LoadedModel) -> CompressionFacts:
    layers = target_layers(model.module)
    targeted = set(map(id, layers.values()))
    target_zeros = sum(int((layer.weight == 0).sum()) for layer in layers.values())
    target_params = sum(layer.weight.numel() for layer in layers.values())
    all_params = list(model.module.parameters())
    excluded = [name for name, m in model.module.named_modules()
                if isinstance(m, torch.nn.Linear) and id(m) not in targeted]
    return CompressionFacts(
        target_layers=len(layers), target_params=target_params,
        sparsity=target_zeros / target_params,
        param_sparsity=sum(int((p == 0).sum()) for p in all_params) / sum(p.numel() for p in all_params),
        excluded_layers=excluded,
    )


@register
class Dense(Method):
    """The identity: the dense parent every compressed result is paired with."""

    name = "dense"

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts | None:
        return None


def make_method(name: str, params: dict[str, object]) -> Method:
    """Build a method from CLI-style params (None = not given); bad params raise one-line errors."""
    cls = METHODS.get(name)
    given = {key: value for key, value in params.items() if value is not None}
    unknown = sorted(set(given) - set(cls.Params.model_fields))
    if unknown:
        raise BenchError(f"method {name!r} takes no {', '.join(unknown)}")
    try:
        return cls(cls.Params(**given))
    except ValidationError as err:
        raise BenchError("; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())) from None
