"""Pruning kernels against the math, on tiny tensors."""

import pytest
import torch

from bench.methods.llm.sparsity import (accumulate_sq_norms, magnitude_scores, n_m_mask, prune_mask,
                                        unstructured_mask, wanda_scores)


def test_unstructured_per_row_keeps_exactly_each_rows_top_scores():
    scores = torch.rand(5, 10, generator=torch.Generator().manual_seed(1))
    keep = unstructured_mask(scores, 0.3, per_row=True)
    for row, kept in zip(scores, keep):
        assert set(kept.nonzero().flatten().tolist()) == set(row.argsort(descending=True)[:7].tolist())


def test_unstructured_per_layer_keeps_exactly_the_layers_top_scores():
    scores = torch.rand(4, 6, generator=torch.Generator().manual_seed(2))
    keep = unstructured_mask(scores, 0.5, per_row=False)
    assert set(keep.flatten().nonzero().flatten().tolist()) == set(scores.flatten().argsort()[12:].tolist())


@pytest.mark.parametrize("n,m", [(2, 4), (4, 8), (1, 4)])
def test_n_m_mask_keeps_exactly_the_n_best_of_every_m_block(n, m):
    scores = torch.rand(6, 4 * m, generator=torch.Generator().manual_seed(3))
    keep = n_m_mask(scores, n, m)
    blocks, kept = scores.reshape(6, 4, m), keep.reshape(6, 4, m)
    assert (kept.sum(dim=2) == n).all()
    assert torch.equal(kept, torch.zeros_like(kept).scatter(2, blocks.topk(n, dim=2).indices, True))


def test_n_m_mask_rejects_a_width_that_is_not_a_multiple_of_m():
    with pytest.raises(ValueError, match="multiple of 4"):
        n_m_mask(torch.rand(2, 6), 2, 4)


def test_prune_mask_with_pattern_ignores_sparsity_and_uses_n_m():
    scores = torch.rand(3, 8)
    assert torch.equal(prune_mask(scores, 0.9, (2, 4), per_row=True), n_m_mask(scores, 2, 4))


def test_squared_norms_accumulate_over_batches_like_one_pass():
    x = torch.randn(3, 7, 5)
    total = torch.zeros(5)
    accumulate_sq_norms(total, x[:1])
    accumulate_sq_norms(total, x[1:])
    assert torch.allclose(total, x.reshape(-1, 5).norm(dim=0) ** 2)


def test_wanda_score_is_weight_magnitude_times_input_norm():
    weight = torch.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    sq_norms = torch.tensor([4.0, 1.0, 0.25])
    expected = torch.tensor([[2.0, 2.0, 1.5], [8.0, 5.0, 3.0]])
    assert torch.allclose(wanda_scores(weight, sq_norms), expected)


def test_wanda_keeps_a_small_weight_on_a_loud_input_that_magnitude_drops():
    weight = torch.tensor([[0.1, 1.0, 1.0, 1.0]])
    sq_norms = torch.tensor([10_000.0, 1.0, 1.0, 1.0])
    assert not unstructured_mask(magnitude_scores(weight), 0.25, per_row=True)[0, 0]
    assert unstructured_mask(wanda_scores(weight, sq_norms), 0.25, per_row=True)[0, 0]
