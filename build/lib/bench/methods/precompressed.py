"""`--method none`: evaluate a checkpoint compressed elsewhere (llm-compressor, GPTQ, AWQ, ...)
next to the dense parent it came from, under a label the user gives."""

from __future__ import annotations

import re

from pydantic import field_validator
from torch import Tensor

from bench import BenchError
from bench.assets import LoadedModel
from bench.methods.base import Method, register
from bench.methods.calibration import CalibrationSet
from bench.methods.params import NoParams
from bench.methods.storage import dense_bytes, sparse_bytes
from bench.schema import CompressionFacts


class LabelParams(NoParams):
    label: str

    @field_validator("label")
    @classmethod
    def _label_is_a_slug(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
            raise ValueError(f"label must be letters, digits, '.', '_' or '-' (up to 64), got {value!r}")
        return value

    def slug(self) -> str:
        return self.label

    def storage(self, weight: Tensor) -> tuple[str, int]:
        """Zeros in the checkpoint are seen; packed quantization is not."""
        return min(("dense fp16", dense_bytes(weight)), sparse_bytes(weight), key=lambda fact: fact[1])


@register
class Precompressed(Method):
    """Pre-compressed: evaluate --model as given, paired with its dense --parent, under --label."""

    name = "none"
    Params = LabelParams

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts | None:
        try:  # measured from the checkpoint's Linear weights, left as they are
            return super().compress(model, calib)
        except BenchError:
            return None  # no plain Linear blocks (e.g. packed quantized kernels): facts unknown

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        return weight
