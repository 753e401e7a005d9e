"""Pure round-to-nearest quantization kernels: per output row, in groups of input columns."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class QuantGrid:
    """An integer grid per (row, group): value = scale * (code - zero), code in [0, 2^bits - 1]."""

    bits: int
    symmetric: bool

    @property
    def max_code(self) -> int:
        return 2**self.bits - 1

    def fit(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        """Scale and zero point per row of `weight` (rows, cols), covering each row's range and 0."""
        w = weight.to(torch.float32)
        low = w.min(dim=1).values.clamp(max=0)
        high = w.max(dim=1).values.clamp(min=0)
        if self.symmetric:
            high = torch.maximum(-low, high)
            low = -high
        scale = (high - low) / self.max_code
        scale = torch.where(scale == 0, torch.ones_like(scale), scale)  # an all-zero row
        zero = torch.full_like(scale, (self.max_code + 1) / 2) if self.symmetric else torch.round(-low / scale)
        return scale[:, None], zero[:, None]

    def codes(self, weight: Tensor, scale: Tensor, zero: Tensor) -> Tensor:
        return torch.clamp(torch.round(weight.to(torch.float32) / scale) + zero, 0, self.max_code)

    def round(self, weight: Tensor, scale: Tensor, zero: Tensor) -> Tensor:
        """Nearest grid value of each weight (dequantized)."""
        return (scale * (self.codes(weight, scale, zero) - zero)).to(weight.dtype)


def rtn(weight: Tensor, grid: QuantGrid, group_size: int | None) -> Tensor:
    """Round every weight to its group's grid; `group_size` None means one group per row."""
    rows, cols = weight.shape
    size = group_size or cols
    out = torch.empty_like(weight)
    for start in range(0, cols, size):
        block = weight[:, start : start + size]
        out[:, start : start + size] = grid.round(block, *grid.fit(block))
    return out
