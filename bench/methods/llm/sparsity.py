"""Pure pruning kernels on weight tensors: statistics, scores, masks. No model, no hooks.

Masks are boolean "keep" masks with the weight's shape.
"""

from __future__ import annotations

import torch
from torch import Tensor


def accumulate_sq_norms(sq_sum: Tensor, inputs: Tensor) -> None:
    """Add the squared L2 norm of each input channel over all tokens in `inputs` (..., seqlen, in_features),
    one sequence at a time in float64, so the batch size cannot change the sum (as for the Hessian).

    Wanda averages these over samples; a sum ranks weights within a row identically.
    """
    for window in inputs.reshape(-1, *inputs.shape[-2:]):
        sq_sum += window.to(torch.float64).pow(2).sum(dim=0)


def magnitude_scores(weight: Tensor) -> Tensor:
    return weight.detach().abs().to(torch.float32)


def wanda_scores(weight: Tensor, sq_norms: Tensor) -> Tensor:
    """|W_ij| * ||X_j||_2 (Sun et al. 2023, eq. 1): weight magnitude times its input's norm."""
    return magnitude_scores(weight) * sq_norms.sqrt().to(weight.device, torch.float32)[None, :]


def unstructured_mask(scores: Tensor, sparsity: float, per_row: bool) -> Tensor:
    """Keep all but the floor(sparsity * n) lowest scores, per output row or over the whole layer."""
    keep = torch.ones_like(scores, dtype=torch.bool)
    if per_row:
        n_prune = int(scores.shape[1] * sparsity)
        if n_prune:
            keep.scatter_(1, torch.topk(scores, n_prune, dim=1, largest=False).indices, False)
    else:
        n_prune = int(scores.numel() * sparsity)
        if n_prune:
            keep.view(-1)[torch.topk(scores.flatten(), n_prune, largest=False).indices] = False
    return keep


def check_n_m_width(cols: int, n: int, m: int) -> None:
    """A row of `cols` inputs splits into whole N:M groups (callers check models up front, with a BenchError)."""
    if cols % m:
        raise ValueError(f"{n}:{m} sparsity needs the input width ({cols}) to be a multiple of {m}")


def n_m_mask(scores: Tensor, n: int, m: int) -> Tensor:
    """N:M semi-structured: in each row, every block of M consecutive inputs keeps its N best."""
    rows, cols = scores.shape
    check_n_m_width(cols, n, m)
    blocks = scores.reshape(rows, cols // m, m)
    keep = torch.zeros_like(blocks, dtype=torch.bool)
    keep.scatter_(2, torch.topk(blocks, n, dim=2).indices, True)
    return keep.reshape(rows, cols)


def prune_mask(scores: Tensor, sparsity: float, pattern: tuple[int, int] | None, per_row: bool) -> Tensor:
    return n_m_mask(scores, *pattern) if pattern else unstructured_mask(scores, sparsity, per_row)


def masked(weight: Tensor, keep: Tensor) -> Tensor:
    """The weight with the pruned entries set to zero."""
    return weight * keep.to(weight.dtype)
