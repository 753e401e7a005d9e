"""Magnitude pruning (Han et al. 2015): drop the smallest |W| over each layer, no data needed."""

from __future__ import annotations

from bench.assets import LoadedModel
from bench.methods.base import Method, PruneParams, measure_sparsity, register
from bench.methods.calibration import CalibrationSet
from bench.methods.layerwise import target_layers
from bench.methods.llm.sparsity import apply_mask, magnitude_scores, prune_mask
from bench.schema import CompressionFacts


@register
class Magnitude(Method):
    """Magnitude pruning: the smallest |W| of each layer go (no data needed)."""

    name = "magnitude"
    Params = PruneParams

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts:
        for layer in target_layers(model.module).values():
            # Layer-wise threshold as in the Wanda repository's magnitude baseline.
            keep = prune_mask(magnitude_scores(layer.weight), self.params.sparsity, self.params.n_m, per_row=False)
            apply_mask(layer.weight, keep)
        return measure_sparsity(model)
