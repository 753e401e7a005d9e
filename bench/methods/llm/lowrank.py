"""Low rank: each Linear weight replaced by its truncated SVD (Eckart-Young), no data needed."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.methods.base import Method, register
from bench.methods.params import LowRankParams


def truncated_svd(weight: Tensor, rank: int) -> Tensor:
    """The best rank-`rank` approximation of `weight` in Frobenius norm (Eckart-Young)."""
    u, s, vh = torch.linalg.svd(weight.to(torch.float32), full_matrices=False)
    return ((u[:, :rank] * s[:rank]) @ vh[:rank]).to(weight.dtype)


@register
class LowRank(Method):
    """Low rank: each Linear weight replaced by its truncated SVD (rank from --keep or --rank-ratio)."""

    name = "lowrank"
    Params = LowRankParams

    def compress_weight(self, weight: Tensor, statistic: Tensor | None, block: int, n_blocks: int) -> Tensor:
        # The product is stored back dense, so the model runs unchanged; the bytes counted are the factors'
        # (or the dense weight's, where the factors would be larger).
        return truncated_svd(weight, self.params.rank(*weight.shape))
