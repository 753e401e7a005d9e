"""Random pruning: the naive baseline every pruning method must beat."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.methods.base import Method, register
from bench.methods.llm.sparsity import masked, prune_mask
from bench.methods.params import PruneParams


@register
class Random(Method):
    """Random pruning: uniformly random weights go, per layer (the naive baseline; seeded by --seed)."""

    name = "random"
    Params = PruneParams

    def __init__(self, params: PruneParams, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def seeded(self) -> bool:
        return True

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        scores = torch.rand(weight.shape, generator=self.generator).to(weight.device)
        return masked(weight, prune_mask(scores, self.params.block_sparsity(block, n_blocks), self.params.n_m,
                                         per_row=False))
