"""SparseGPT (Frantar & Alistarh 2023): OBS pruning with error compensation from the inputs' Hessian."""

from __future__ import annotations

from torch import Tensor

from bench.methods.base import Method, register
from bench.methods.layerwise import HESSIAN
from bench.methods.llm.obs import obs_sweep
from bench.methods.params import SparseQuantParams


@register
class SparseGPT(Method):
    """SparseGPT: OBS pruning with error compensation from the inputs' Hessian (+ optional --bits)."""

    name = "sparsegpt"
    Params = SparseQuantParams
    statistic = HESSIAN

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        p = self.params
        return obs_sweep(weight, statistic, sparsity=p.block_sparsity(block, n_blocks), n_m=p.n_m,
                         grid=p.grid, group_size=p.group_size, damp=p.damp)
