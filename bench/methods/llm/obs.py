"""Optimal-brain-surgeon column sweep shared by SparseGPT (Frantar & Alistarh 2023) and GPTQ
(Frantar et al. 2022): prune and/or quantize one column at a time and spread each column's error
over the columns not yet processed, using the inverse Hessian of the layer's inputs."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.methods.llm.quant import QuantGrid
from bench.methods.llm.sparsity import check_n_m_width


def accumulate_hessian(hessian: Tensor, inputs: Tensor) -> None:
    """Add X^T X of the inputs (..., seqlen, in_features) to `hessian` (float64), one sequence at a time:
    each window's product is the same however the windows were batched, and the products are added in
    window order, so the batch size cannot change the sum. Products in float32 (float64 ones cost about
    1.8x on CPU), sums in float64. The scale (2/n in the papers) cancels in the sweep."""
    for window in inputs.reshape(-1, *inputs.shape[-2:]):
        flat = window.to(torch.float32)
        hessian += flat.T @ flat


def _inverse_hessian_cholesky(hessian: Tensor, damp: float) -> Tensor:
    """Upper Cholesky factor of H^-1 after relative dampening (`damp` x the mean diagonal), computed in
    float64 and cast to float32 for the sweep."""
    h = hessian + damp * torch.mean(torch.diag(hessian)) * torch.eye(len(hessian), dtype=hessian.dtype,
                                                                         device=hessian.device)
    inverse = torch.cholesky_inverse(torch.linalg.cholesky(h))
    return torch.linalg.cholesky(inverse, upper=True).to(torch.float32)


def obs_sweep(weight: Tensor, hessian: Tensor, *, sparsity: float = 0.0, n_m: tuple[int, int] | None = None,
              grid: QuantGrid | None = None, group_size: int | None = None, block_size: int = 128,
              damp: float = 0.01, act_order: bool = False, static_groups: bool = False) -> Tensor:
    """The compressed weight: `sparsity` (or N:M, keeping N) chosen by the OBS saliency
    w^2 / [H^-1]_jj per block of columns, remaining weights rounded to `grid` if given. With N:M the
    block size is rounded down to a multiple of M (at least M), so no group straddles two blocks.

    As in the GPTQ reference: `act_order` processes the columns in order of decreasing Hessian diagonal
    (the most active inputs first) and returns them in their own order; groups of `group_size` are then
    formed in processing order, unless `static_groups`, where every group's grid is fitted up front on
    the weight's own consecutive columns and each column keeps its group's grid."""
    if act_order and n_m:
        raise ValueError("act-order reorders columns, N:M groups consecutive ones: use one or the other")
    w = weight.detach().to(torch.float32).clone()
    h = hessian.to(w.device, torch.float64).clone()
    dead = torch.diag(h) == 0  # never-active inputs: their weights cannot matter
    h[dead, dead] = 1
    w[:, dead] = 0
    cols = w.shape[1]
    order = torch.arange(cols, device=w.device)
    if act_order:  # the most active inputs first; stable, so ties keep their own order
        order = torch.argsort(torch.diag(h), descending=True, stable=True)
    column_grids = None  # static groups: each column's grid, in processing order
    if static_groups and grid is not None and group_size:
        natural = [grid.fit(w[:, start : start + group_size]) for start in range(0, cols, group_size)]
        column_grids = [natural[group] for group in (order // group_size).tolist()]
    w, h = w[:, order], h[order][:, order]
    if n_m:
        check_n_m_width(cols, *n_m)
        block_size = max(block_size // n_m[1], 1) * n_m[1]  # whole N:M groups in every block of columns
    hinv = _inverse_hessian_cholesky(h, damp)
    scale = zero = None
    for start in range(0, cols, block_size):
        end = min(start + block_size, cols)
        block, h_block = w[:, start:end].clone(), hinv[start:end, start:end]
        errors = torch.zeros_like(block)
        prune = torch.zeros_like(block, dtype=torch.bool)
        if sparsity and not n_m:  # adaptive mask for the whole block of columns, as in SparseGPT
            saliency = block.pow(2) / torch.diag(h_block)[None, :].pow(2)
            n_prune = int(saliency.numel() * sparsity)
            if n_prune:
                prune.view(-1)[torch.topk(saliency.flatten(), n_prune, largest=False).indices] = True
        for i in range(end - start):
            column = start + i
            if n_m and i % n_m[1] == 0:
                saliency = block[:, i : i + n_m[1]].pow(2) / torch.diag(h_block)[i : i + n_m[1]][None, :].pow(2)
                prune.scatter_(1, i + torch.topk(saliency, n_m[1] - n_m[0], dim=1, largest=False).indices, True)
            if column_grids is not None:
                scale, zero = column_grids[column]
            elif grid is not None and (scale is None or (group_size and column % group_size == 0)):
                # Fitted on the weights as of this block's start, as in the GPTQ reference.
                scale, zero = grid.fit(w[:, column : column + group_size] if group_size else w)
            q = block[:, i].clone()
            q[prune[:, i]] = 0
            if grid is not None:
                q = grid.round(q[:, None], scale, zero).flatten()
            error = (block[:, i] - q) / h_block[i, i]
            block[:, i:] -= error[:, None] @ h_block[i, i:][None, :]
            block[:, i] = q
            errors[:, i] = error
        w[:, start:end] = block
        w[:, end:] -= errors @ hinv[start:end, end:]
    return w[:, torch.argsort(order)].to(weight.dtype)
