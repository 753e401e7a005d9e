"""Magnitude pruning (Han et al. 2015) and random pruning: no data needed."""

from __future__ import annotations

import torch
from torch import Tensor

from bench.assets import LoadedModel
from bench.methods.base import Method, PruneParams, measure_facts, register
from bench.methods.calibration import CalibrationSet
from bench.methods.layerwise import find_blocks, linear_layers
from bench.methods.llm.sparsity import apply_mask, magnitude_scores, prune_mask
from bench.schema import CompressionFacts


class DataFreePruning(Method):
    Params = PruneParams
    per_row = False  # one threshold per layer, as in the Wanda repository's magnitude baseline

    def scores(self, weight: Tensor) -> Tensor:
        raise NotImplementedError

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts:
        blocks = find_blocks(model.module)
        for index, block in enumerate(blocks):
            sparsity = self.params.block_sparsity(index, len(blocks))
            for layer in linear_layers(block).values():
                apply_mask(layer.weight, prune_mask(self.scores(layer.weight), sparsity, self.params.n_m, self.per_row))
        return measure_facts(model, self.params.storage)


@register
class Magnitude(DataFreePruning):
    """Magnitude pruning: the smallest |W| of each layer go (no data needed)."""

    name = "magnitude"

    def scores(self, weight: Tensor) -> Tensor:
        return magnitude_scores(weight)


@register
class Random(DataFreePruning):
    """Random pruning: uniformly random weights go, per layer (the naive baseline; seeded by --seed)."""

    name = "random"

    def __init__(self, params: PruneParams, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.generator = torch.Generator().manual_seed(seed)

    def scores(self, weight: Tensor) -> Tensor:
        return torch.rand(weight.shape, generator=self.generator).to(weight.device)
