"""GPTQ (Frantar et al. 2022): round to a low-bit grid column by column, compensating each error."""

from __future__ import annotations

from torch import Tensor

from bench.methods.base import Method, register
from bench.methods.layerwise import HESSIAN
from bench.methods.llm.obs import obs_sweep
from bench.methods.params import GPTQParams


@register
class GPTQ(Method):
    """GPTQ: round to a low-bit grid column by column, compensating each rounding error."""

    name = "gptq"
    Params = GPTQParams
    statistic = HESSIAN

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        p = self.params
        return obs_sweep(weight, statistic, grid=p.grid, group_size=p.group_size, damp=p.damp,
                         act_order=p.act_order, static_groups=p.static_groups)
