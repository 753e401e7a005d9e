"""Round-to-nearest weight quantization and truncated-SVD low rank: per layer, no data needed."""

from __future__ import annotations

import torch
from pydantic import field_validator

from bench.assets import LoadedModel
from bench.methods.base import Method, NoParams, QuantParams, measure_facts, register
from bench.methods.calibration import CalibrationSet
from bench.methods.layerwise import target_layers
from bench.methods.llm.quant import rtn
from bench.methods.storage import lowrank_bytes
from bench.schema import CompressionFacts


@register
class RTN(Method):
    """Round-to-nearest: each weight to the nearest point of its group's low-bit grid."""

    name = "rtn"
    Params = QuantParams

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts:
        for layer in target_layers(model.module).values():
            layer.weight.data = rtn(layer.weight.data, self.params.grid, self.params.group_size)
        return measure_facts(model, self.params.storage)


class LowRankParams(NoParams):
    rank_ratio: float = 0.5  # kept rank as a fraction of min(rows, cols)

    @field_validator("rank_ratio")
    @classmethod
    def _ratio_in_range(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(f"rank ratio must be in (0, 1], got {value}")
        return value

    def slug(self) -> str:
        return f"r{self.rank_ratio:g}"

    def rank(self, rows: int, cols: int) -> int:
        return max(1, round(self.rank_ratio * min(rows, cols)))


def truncated_svd(weight: torch.Tensor, rank: int) -> torch.Tensor:
    """The best rank-`rank` approximation of `weight` in Frobenius norm (Eckart-Young)."""
    u, s, vh = torch.linalg.svd(weight.to(torch.float32), full_matrices=False)
    return ((u[:, :rank] * s[:rank]) @ vh[:rank]).to(weight.dtype)


@register
class LowRank(Method):
    """Low rank: each Linear weight replaced by its truncated SVD at --rank-ratio."""

    name = "lowrank"
    Params = LowRankParams

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts:
        for layer in target_layers(model.module).values():
            layer.weight.data = truncated_svd(layer.weight.data, self.params.rank(*layer.weight.shape))
        # The product is stored back dense, so the model runs unchanged; the bytes counted are the factors'.
        return measure_facts(model, lambda w: lowrank_bytes(*w.shape, self.params.rank(*w.shape)))
