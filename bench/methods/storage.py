"""Bytes a compressed Linear weight takes in a realistic storage format, from the weight itself.

Values are counted as fp16 (how checkpoints ship); the index or scale overhead of each format is
counted in full, so bits per weight are what a deployment would really hold.
"""

from __future__ import annotations

import math

from torch import Tensor

VALUE_BYTES = 2  # fp16


def dense_bytes(weight: Tensor) -> int:
    return weight.numel() * VALUE_BYTES


def sparse_bytes(weight: Tensor, value_bits: float = 8 * VALUE_BYTES) -> tuple[str, int]:
    """Unstructured zeros: the smaller of a bitmask (1 bit per weight) and CSR (a column index per
    non-zero, a row pointer per row), plus the kept values."""
    rows, cols = weight.shape
    nnz = int((weight != 0).sum())
    values = math.ceil(nnz * value_bits / 8)
    bitmask = math.ceil(rows * cols / 8) + values
    index_bytes = 2 if cols <= 2**16 else 4
    csr = nnz * index_bytes + (rows + 1) * 4 + values
    return ("bitmask", bitmask) if bitmask <= csr else ("csr", csr)


def n_m_bytes(weight: Tensor, n: int, m: int, value_bits: float = 8 * VALUE_BYTES) -> tuple[str, int]:
    """N:M: every group of M inputs stores N value slots and a log2(M)-bit position per slot (2 bits
    for 2:4), whatever the kept values are: a kept weight that is zero (pruned by chance or rounded
    to 0) still fills its slot, so the size follows from the shape, not from the nonzeros."""
    rows, cols = weight.shape
    slots = rows * math.ceil(cols / m) * n
    index_bits = math.ceil(math.log2(m))
    return f"n:m values + {index_bits}-bit indices", math.ceil(slots * (value_bits + index_bits) / 8)


def scale_bytes(weight: Tensor, bits: int, group_size: int | None) -> int:
    """An fp16 scale and a `bits`-bit zero point per (row, group)."""
    rows, cols = weight.shape
    groups = math.ceil(cols / group_size) if group_size else 1
    return math.ceil(rows * groups * (VALUE_BYTES + bits / 8))


def quant_bytes(weight: Tensor, bits: int, group_size: int | None) -> tuple[str, int]:
    """Packed `bits`-bit codes plus the groups' scales and zero points."""
    return f"int{bits} packed + scales", math.ceil(weight.numel() * bits / 8) + scale_bytes(weight, bits, group_size)


def lowrank_bytes(rows: int, cols: int, rank: int) -> tuple[str, int]:
    """Two fp16 factors, rows x rank and rank x cols."""
    return "low-rank factors", rank * (rows + cols) * VALUE_BYTES
