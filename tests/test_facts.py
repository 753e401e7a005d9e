"""Honest accounting: N:M slots, whole-model bits per weight, weights no method reached, and what the
report and the site show for each kind of row."""

import pytest
import torch

from bench.methods.llm.sparsity import n_m_mask
from bench.methods.storage import n_m_bytes


def test_n_m_storage_counts_every_slot_even_when_kept_values_are_zero():
    torch.manual_seed(0)
    weight = torch.randn(8, 64)
    keep = n_m_mask(weight.abs(), 2, 4)
    weight = weight * keep
    full = n_m_bytes(weight, 2, 4)[1]
    assert full == 8 * (64 // 4) * 2 * (16 + 2) // 8  # 2 fp16 slots + 2-bit positions per group of 4
    weight[keep & (torch.rand(8, 64) < 0.5)] = 0  # kept, yet zero (e.g. rounded to 0 by a 2-bit grid)
    assert n_m_bytes(weight, 2, 4)[1] == full
    assert n_m_bytes(weight, 2, 4, value_bits=2)[1] == 8 * 16 * 2 * (2 + 2) // 8
    assert n_m_bytes(weight, 1, 4)[1] == full // 2  # N slots per group, not M - zeros
    assert n_m_bytes(weight, 4, 8)[1] == 8 * (64 // 8) * 4 * (16 + 3) // 8
