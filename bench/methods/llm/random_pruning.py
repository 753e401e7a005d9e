"""Random pruning: the naive baseline every pruning method must beat."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.assets import LoadedModel
from bench.methods.base import Method, register
from bench.methods.calibration import CalibrationSet
from bench.methods.llm.sparsity import masked, prune_mask
from bench.methods.params import PruneParams
from bench.schema import CompressionFacts


@register
class Random(Method):
    """Random pruning: uniformly random weights go, per layer (the naive baseline; seeded by --seed)."""

    name = "random"
    Params = PruneParams

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts | None:
        # A fresh generator per model: its mask never depends on which other model this method compressed.
        self.generator = torch.Generator().manual_seed(self.seed)
        return super().compress(model, calib)

    @property
    def seeded(self) -> bool:
        return True

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        scores = torch.rand(weight.shape, generator=self.generator).to(weight.device)
        return masked(weight, prune_mask(scores, self.params.block_sparsity(block, n_blocks), self.params.n_m,
                                         per_row=False))
