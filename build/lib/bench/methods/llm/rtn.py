"""Round-to-nearest weight quantization: per layer, no data needed."""

from __future__ import annotations

from torch import Tensor

from bench.methods.base import Method, register
from bench.methods.llm.quant import rtn
from bench.methods.params import QuantParams


@register
class RTN(Method):
    """Round-to-nearest: each weight to the nearest point of its group's low-bit grid."""

    name = "rtn"
    Params = QuantParams

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        return rtn(weight, self.params.grid, self.params.group_size)
