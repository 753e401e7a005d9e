"""Wanda (Sun et al. 2023): prune by |W| x input-activation norm, compared within each output row."""

from __future__ import annotations

from torch import Tensor

from bench.methods.base import Method, register
from bench.methods.layerwise import SQUARED_NORMS
from bench.methods.llm.sparsity import masked, prune_mask, wanda_scores
from bench.methods.params import PruneParams


@register
class Wanda(Method):
    """Wanda: prune by |W| times input-activation norm within each output row."""

    name = "wanda"
    Params = PruneParams
    statistic = SQUARED_NORMS

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        scores = wanda_scores(weight, statistic)
        return masked(weight, prune_mask(scores, self.params.block_sparsity(block, n_blocks), self.params.n_m,
                                         per_row=True))
