"""Magnitude pruning (Han et al. 2015): the smallest |W| of each layer go, no data needed."""

from __future__ import annotations

from torch import Tensor

from bench.methods.base import Method, register
from bench.methods.llm.sparsity import magnitude_scores, masked, prune_mask
from bench.methods.params import PruneParams


@register
class Magnitude(Method):
    """Magnitude pruning: the smallest |W| of each layer go (no data needed)."""

    name = "magnitude"
    Params = PruneParams

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        # One threshold per layer, as in the Wanda repository's magnitude baseline.
        sparsity = self.params.block_sparsity(block, n_blocks)
        return masked(weight, prune_mask(magnitude_scores(weight), sparsity, self.params.n_m, per_row=False))
