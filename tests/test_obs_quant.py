"""Quantization and OBS (SparseGPT / GPTQ) kernels against the math, on tiny layers."""

import pytest
import torch

from bench.methods.llm.obs import accumulate_hessian, obs_sweep
from bench.methods.llm.quant import QuantGrid, rtn
from bench.methods.llm.sparsity import magnitude_scores, n_m_mask, unstructured_mask


@pytest.fixture(scope="module")
def layer():
    """A 16 x 64 layer whose inputs have correlated channels of very different scales (as in LLMs)."""
    g = torch.Generator().manual_seed(0)
    mixing = torch.randn(64, 64, generator=g) * torch.logspace(-1, 1, 64)[:, None]
    inputs = torch.randn(512, 64, generator=g) @ mixing
    hessian = torch.zeros(64, 64)
    accumulate_hessian(hessian, inputs[:200])
    accumulate_hessian(hessian, inputs[200:])
    return torch.randn(16, 64, generator=g), inputs, hessian


def output_error(weight, compressed, inputs):
    return (inputs @ (weight - compressed).T).pow(2).sum().item()


def test_hessian_accumulates_x_transpose_x(layer):
    _, inputs, hessian = layer
    expected = inputs.T @ inputs
    assert torch.allclose(hessian, expected, rtol=1e-4, atol=1e-5 * expected.abs().max().item())


def test_sweep_without_pruning_or_grid_returns_the_weight(layer):
    weight, _, hessian = layer
    assert torch.allclose(obs_sweep(weight, hessian), weight, atol=1e-5)


@pytest.mark.parametrize("sparsity,n_m", [(0.5, None), (0.5, (2, 4)), (0.5, (4, 8)), (0.75, (1, 4)), (0.7, None)])
def test_sparsegpt_reconstructs_the_layer_better_than_magnitude(layer, sparsity, n_m):
    weight, inputs, hessian = layer
    pruned = obs_sweep(weight, hessian, sparsity=sparsity, n_m=n_m, block_size=16)
    keep = n_m_mask(magnitude_scores(weight), *n_m) if n_m else unstructured_mask(magnitude_scores(weight), sparsity, True)
    assert (pruned == 0).float().mean().item() == pytest.approx(sparsity, abs=0.01)
    if n_m:
        assert ((pruned != 0).reshape(16, -1, n_m[1]).sum(-1) == n_m[0]).all()
    assert output_error(weight, pruned, inputs) < 0.7 * output_error(weight, weight * keep, inputs)


@pytest.mark.parametrize("bits,group_size,symmetric", [(4, None, False), (3, 16, False), (4, 32, True), (8, 16, True)])
def test_rtn_puts_every_weight_on_its_groups_grid(layer, bits, group_size, symmetric):
    weight, _, _ = layer
    grid = QuantGrid(bits, symmetric)
    quantized = rtn(weight, grid, group_size)
    size = group_size or 64
    for start in range(0, 64, size):
        scale, zero = grid.fit(weight[:, start : start + size])
        codes = quantized[:, start : start + size] / scale + zero
        assert torch.allclose(codes, codes.round(), atol=1e-3)
        assert codes.round().min() >= 0 and codes.round().max() <= 2**bits - 1
    assert (quantized - weight).abs().max() <= (weight.abs().max() / (2**bits - 1)) * 1.01 * 2


@pytest.mark.parametrize("bits,group_size", [(4, None), (3, 16), (2, 16)])
def test_gptq_reconstructs_the_layer_better_than_rtn(layer, bits, group_size):
    weight, inputs, hessian = layer
    grid = QuantGrid(bits, symmetric=False)
    gptq = obs_sweep(weight, hessian, grid=grid, group_size=group_size, block_size=16)
    for start in range(0, 64, group_size or 64):  # GPTQ's output lies on a grid too
        assert all(row.unique().numel() <= 2**bits for row in gptq[:, start : start + (group_size or 64)])
    assert output_error(weight, gptq, inputs) < 0.8 * output_error(weight, rtn(weight, grid, group_size), inputs)


def test_joint_sparsity_and_quantization(layer):
    weight, inputs, hessian = layer
    both = obs_sweep(weight, hessian, sparsity=0.5, grid=QuantGrid(4, False), group_size=16, block_size=16)
    assert (both == 0).float().mean().item() >= 0.5
    assert all(row.unique().numel() <= 16 for row in both[:, :16])
