"""The Method interface and its registry: one compress skeleton for every weight method.

A method names the statistic it gathers from each Linear layer's inputs (none for data-free methods)
and how it compresses one weight given that statistic; the skeleton walks the model's repeated blocks
(feeding each block the outputs of the compressed blocks before it when calibrating) and measures the
facts of the result.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import ClassVar

from pydantic import ValidationError
from torch import Tensor, nn

from bench import BenchError
from bench.assets import LoadedModel
from bench.methods.calibration import CalibrationSet
from bench.methods.facts import measure_facts
from bench.methods.layerwise import InputStatistic, compress_layerwise, find_blocks, linear_layers, target_layers
from bench.methods.params import NoParams
from bench.registry import Registry
from bench.schema import CompressionFacts


class Method(ABC):
    name: ClassVar[str]
    Params: ClassVar[type[NoParams]] = NoParams
    statistic: ClassVar[InputStatistic | None] = None  # gathered from calibration inputs; None: data-free

    def __init__(self, params: NoParams, seed: int = 0) -> None:
        self.params = params
        self.seed = seed
        self.slug_suffix = ""  # set by the runner when calibration differs from the profile's

    @property
    def needs_calibration(self) -> bool:
        return self.statistic is not None

    @property
    def seeded(self) -> bool:
        """Whether --seed changes the result: it draws the calibration windows (and random's mask)."""
        return self.needs_calibration

    def slug(self) -> str:
        params = self.params.slug()
        return (f"{self.name}-{params}" if params else self.name) + self.slug_suffix

    def check_layers(self, module: nn.Module, model_name: str) -> None:
        """One line, before any work, if a targeted layer's input width does not fit the params (N:M
        needs a multiple of M): `module` may be a weightless skeleton of the model."""
        multiple = self.params.width_multiple
        if multiple is None:
            return
        widths = {name: layer.in_features for name, layer in target_layers(module).items()}
        misfit = next((name for name, width in widths.items() if width % multiple), None)
        if misfit:
            raise BenchError(f"{self.slug()} groups every {multiple} inputs, but layer {misfit} of {model_name} has "
                             f"{widths[misfit]} inputs; for this model M must divide {math.gcd(*widths.values())}")

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts | None:
        """Compress every Linear layer of `model.module`'s repeated blocks in place; return facts
        measured on the result."""
        self.check_layers(model.module, model.info.name)
        blocks = find_blocks(model.module)

        def compress_block(index: int, block: nn.Module, stats: dict[str, Tensor]) -> None:
            for name, layer in linear_layers(block).items():
                layer.weight.data = self.compress_weight(layer.weight.data, stats.get(name), index, len(blocks))

        if self.statistic is None:
            for index, block in enumerate(blocks):
                compress_block(index, block, {})
        elif calib is None:
            raise BenchError(f"{self.name} needs calibration data")
        else:
            compress_layerwise(model.module, calib, self.statistic, compress_block)
        return measure_facts(model, self.params.storage)

    @abstractmethod
    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        """The compressed weight of one Linear layer in block `block` of `n_blocks`."""


METHODS: Registry[type[Method]] = Registry("method")


def register(cls: type[Method]) -> type[Method]:
    return METHODS.add(cls.name, cls)


@register
class Dense(Method):
    """The identity: the dense parent every compressed result is paired with."""

    name = "dense"

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts | None:
        return None

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        return weight


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
