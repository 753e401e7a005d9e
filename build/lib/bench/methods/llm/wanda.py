"""Wanda (Sun et al. 2023): prune by |W| x input-activation norm, compared within each output row."""

from __future__ import annotations

from torch import Tensor, nn

from bench.assets import LoadedModel
from bench.methods.base import Method, PruneParams, measure_facts, register
from bench.methods.calibration import CalibrationSet
from bench.methods.layerwise import SQUARED_NORMS, compress_layerwise, find_blocks, linear_layers
from bench.methods.llm.sparsity import apply_mask, prune_mask, wanda_scores
from bench.schema import CompressionFacts


@register
class Wanda(Method):
    """Wanda: prune by |W| times input-activation norm within each output row."""

    name = "wanda"
    Params = PruneParams
    needs_calibration = True

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts:
        assert calib is not None, "wanda needs calibration data"
        n_blocks = len(find_blocks(model.module))

        def prune_block(index: int, block: nn.Module, sq_norms: dict[str, Tensor]) -> None:
            sparsity = self.params.block_sparsity(index, n_blocks)
            for name, layer in linear_layers(block).items():
                scores = wanda_scores(layer.weight, sq_norms[name])
                apply_mask(layer.weight, prune_mask(scores, sparsity, self.params.n_m, per_row=True))

        compress_layerwise(model.module, calib, SQUARED_NORMS, prune_block)
        return measure_facts(model, self.params.storage)
