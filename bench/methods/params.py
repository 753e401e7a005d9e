"""Typed, validated parameters of the compression methods; each knows its slug and storage format."""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from torch import Tensor

from bench.methods.llm.quant import QuantGrid
from bench.methods.storage import dense_bytes, lowrank_bytes, n_m_bytes, quant_bytes, scale_bytes, sparse_bytes


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def slug(self) -> str:
        """The params' part of the method slug; empty when there are none."""
        return ""

    @property
    def width_multiple(self) -> int | None:
        """Every compressed layer's input width must be a multiple of this; None: any width will do."""
        return None


def _check_fraction(value: float, what: str = "sparsity") -> float:
    if not 0 <= value < 1:
        raise ValueError(f"{what} must be in [0, 1), got {value}")
    return value


def _parse_ramp(value: str) -> tuple[float, float]:
    try:
        first, last = (float(x) for x in value.split(":"))
    except ValueError:
        raise ValueError(f"schedule must be FIRST:LAST sparsities, e.g. 0.3:0.7, got {value!r}") from None
    return _check_fraction(first, "schedule sparsity"), _check_fraction(last, "schedule sparsity")


class PruneParams(NoParams):
    """Unstructured at `sparsity`, N:M semi-structured (`pattern` "2:4" keeps 2 of every 4), or a
    per-block `schedule` "A:B" ramping linearly from A at the first block to B at the last. `sparsity`
    is what was asked for; `target_sparsity` is what the pattern or schedule implies."""

    sparsity: float | None = None  # default 0.5 unless a pattern or a schedule is given
    pattern: str | None = None
    schedule: str | None = None

    @field_validator("sparsity")
    @classmethod
    def _sparsity_in_range(cls, value: float | None) -> float | None:
        return None if value is None else _check_fraction(value)

    @field_validator("pattern")
    @classmethod
    def _pattern_is_n_of_m(cls, value: str | None) -> str | None:
        if value is None:
            return None
        n, sep, m = value.partition(":")
        if not (sep and n.isdigit() and m.isdigit() and 0 < int(n) < int(m)):
            raise ValueError(f"pattern must be N:M with 0 < N < M, e.g. 2:4, got {value!r}")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_is_a_ramp(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_ramp(value)
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> "PruneParams":
        if sum(x is not None for x in (self.sparsity, self.pattern, self.schedule)) > 1:
            raise ValueError("give one of a sparsity, a pattern or a schedule")
        return self

    @cached_property
    def n_m(self) -> tuple[int, int] | None:
        if self.pattern is None:
            return None
        n, m = self.pattern.split(":")
        return int(n), int(m)

    @cached_property
    def ramp(self) -> tuple[float, float] | None:
        return _parse_ramp(self.schedule) if self.schedule else None

    @property
    def target_sparsity(self) -> float:
        if self.n_m:
            return 1 - self.n_m[0] / self.n_m[1]
        if self.ramp:
            return sum(self.ramp) / 2
        return 0.5 if self.sparsity is None else self.sparsity

    def block_sparsity(self, index: int, n_blocks: int) -> float:
        if not self.ramp:
            return self.target_sparsity
        first, last = self.ramp
        return first + (last - first) * index / max(n_blocks - 1, 1)

    @property
    def width_multiple(self) -> int | None:
        return self.n_m[1] if self.n_m else None  # a partial group at the end of a row could not keep N of M

    def slug(self) -> str:
        if self.n_m:
            return f"{self.n_m[0]}of{self.n_m[1]}"
        return f"sched{self.ramp[0]:g}to{self.ramp[1]:g}" if self.ramp else f"sp{self.target_sparsity:g}"

    def storage(self, weight: Tensor) -> tuple[str, int]:
        return n_m_bytes(weight, *self.n_m) if self.n_m else sparse_bytes(weight)


class QuantFields(NoParams):
    """Round-to-nearest grid: `bits` in 2..8, one scale per `group_size` inputs of a row (0 or
    None: one per row), asymmetric (a zero point per group) unless `symmetric`."""

    bits: int | None = 4
    group_size: int | None = 128
    symmetric: bool = False

    @field_validator("bits")
    @classmethod
    def _bits_in_range(cls, value: int | None) -> int | None:
        if value is not None and not 2 <= value <= 8:
            raise ValueError(f"bits must be in 2..8, got {value}")
        return value

    @field_validator("group_size")
    @classmethod
    def _group_size_positive(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError(f"group size must be positive (0: one group per row), got {value}")
        return value or None

    @property
    def grid(self) -> QuantGrid | None:
        return QuantGrid(self.bits, self.symmetric) if self.bits else None

    def quant_slug(self) -> str:
        if not self.bits:
            return ""
        return f"w{self.bits}" + (f"g{self.group_size}" if self.group_size else "") + ("-sym" if self.symmetric else "")


class QuantParams(QuantFields):
    def slug(self) -> str:
        return self.quant_slug()

    def storage(self, weight: Tensor) -> tuple[str, int]:
        return quant_bytes(weight, self.bits, self.group_size)


DEFAULT_DAMP = 0.01  # the SparseGPT and GPTQ references' 1%


class DampField(NoParams):
    """OBS dampening (SparseGPT, GPTQ): `damp` x the mean Hessian diagonal is added to its diagonal."""

    damp: float = DEFAULT_DAMP

    @field_validator("damp")
    @classmethod
    def _damp_in_range(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError(f"damp must be in (0, 1], got {value}")
        return value

    def damp_slug(self) -> str:
        return "" if self.damp == DEFAULT_DAMP else f"damp{self.damp:g}"


class GPTQParams(QuantParams, DampField):
    """GPTQ's grid and dampening; `act_order` processes the columns by decreasing Hessian diagonal, and
    `static_groups` (with a group size) fits every group's grid up front on the original weight's own
    columns, as the GPTQ reference's option does (and as llm-compressor does by default), instead of on
    the weights already updated by the sweep when the group starts."""

    act_order: bool = False
    static_groups: bool = False

    @model_validator(mode="after")
    def _static_groups_need_groups(self) -> "GPTQParams":
        if self.static_groups and not self.group_size:
            raise ValueError("static groups need a group size (--group-size N): one grid per row is fitted up front "
                             "either way")
        return self

    def storage(self, weight: Tensor) -> tuple[str, int]:
        """With act-order and groups in processing order, a deployment also stores each input column's
        group index (int32, as GPTQ checkpoints' g_idx)."""
        fmt, stored = QuantParams.storage(self, weight)
        if self.act_order and self.group_size and not self.static_groups:
            return f"{fmt} + group index", stored + 4 * weight.shape[1]
        return fmt, stored

    def slug(self) -> str:
        flags = ["act" if self.act_order else "", "static" if self.static_groups else ""]
        return "-".join(filter(None, [self.quant_slug(), *flags, self.damp_slug()]))


class SparseQuantParams(PruneParams, QuantFields, DampField):
    """Pruning, optionally followed by quantization of the kept weights (`bits`)."""

    bits: int | None = None

    def slug(self) -> str:
        return "-".join(filter(None, [PruneParams.slug(self), self.quant_slug(), self.damp_slug()]))

    def storage(self, weight: Tensor) -> tuple[str, int]:
        if not self.bits:
            return PruneParams.storage(self, weight)
        fmt, stored = n_m_bytes(weight, *self.n_m, self.bits) if self.n_m else sparse_bytes(weight, self.bits)
        return f"{fmt}, int{self.bits} values + scales", stored + scale_bytes(weight, self.bits, self.group_size)


def _check_size_fraction(value: float | None, what: str) -> float | None:
    if value is not None and not 0 < value <= 1:
        raise ValueError(f"{what} must be in (0, 1], got {value}")
    return value


class LowRankParams(NoParams):
    """The rank of each weight's factors: from `keep` (default 0.5), the most the two factors may store
    as a fraction of the dense weight's numbers, or from `rank_ratio`, the rank as a fraction of
    min(rows, cols). A rank ratio of 0.5 of a square weight stores as many numbers as the weight."""

    keep: float | None = None
    rank_ratio: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _keep_half_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("keep") is None and data.get("rank_ratio") is None:
            return {**data, "keep": 0.5}
        return data

    @field_validator("keep")
    @classmethod
    def _keep_in_range(cls, value: float | None) -> float | None:
        return _check_size_fraction(value, "keep")

    @field_validator("rank_ratio")
    @classmethod
    def _ratio_in_range(cls, value: float | None) -> float | None:
        return _check_size_fraction(value, "rank ratio")

    @model_validator(mode="after")
    def _one_rule(self) -> "LowRankParams":
        if self.keep is not None and self.rank_ratio is not None:
            raise ValueError("give one of keep or a rank ratio")
        return self

    def slug(self) -> str:
        return f"r{self.rank_ratio:g}" if self.rank_ratio is not None else f"keep{self.keep:g}"

    def rank(self, rows: int, cols: int) -> int:
        if self.rank_ratio is not None:
            return max(1, round(self.rank_ratio * min(rows, cols)))
        # rank * (rows + cols) numbers stored, at most keep * rows * cols of them.
        return max(1, math.floor(self.keep * rows * cols / (rows + cols)))

    def storage(self, weight: Tensor) -> tuple[str, int]:
        factors = lowrank_bytes(*weight.shape, self.rank(*weight.shape))
        if factors[1] > dense_bytes(weight):  # a deployment stores the product dense rather than bigger factors
            return "dense (low-rank factors would be larger)", dense_bytes(weight)
        return factors
