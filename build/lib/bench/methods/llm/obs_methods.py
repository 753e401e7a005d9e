"""SparseGPT and GPTQ: the OBS column sweep, fed with each layer's input Hessian block by block."""

from __future__ import annotations

from torch import Tensor, nn

from bench.assets import LoadedModel
from bench.methods.base import Method, QuantParams, SparseQuantParams, measure_facts, register
from bench.methods.calibration import CalibrationSet
from bench.methods.layerwise import HESSIAN, compress_layerwise, find_blocks, linear_layers
from bench.methods.llm.obs import obs_sweep
from bench.schema import CompressionFacts


class HessianMethod(Method):
    needs_calibration = True

    def sweep(self, weight: Tensor, hessian: Tensor, index: int, n_blocks: int) -> Tensor:
        raise NotImplementedError

    def compress(self, model: LoadedModel, calib: CalibrationSet | None) -> CompressionFacts:
        assert calib is not None, f"{self.name} needs calibration data"
        n_blocks = len(find_blocks(model.module))

        def compress_block(index: int, block: nn.Module, hessians: dict[str, Tensor]) -> None:
            for name, layer in linear_layers(block).items():
                layer.weight.data = self.sweep(layer.weight.data, hessians[name], index, n_blocks)

        compress_layerwise(model.module, calib, HESSIAN, compress_block)
        return measure_facts(model, self.params.storage)


@register
class SparseGPT(HessianMethod):
    """SparseGPT: OBS pruning with error compensation from the inputs' Hessian (+ optional --bits)."""

    name = "sparsegpt"
    Params = SparseQuantParams

    def sweep(self, weight: Tensor, hessian: Tensor, index: int, n_blocks: int) -> Tensor:
        p = self.params
        return obs_sweep(weight, hessian, sparsity=p.block_sparsity(index, n_blocks), n_m=p.n_m,
                         grid=p.grid, group_size=p.group_size)


@register
class GPTQ(HessianMethod):
    """GPTQ: round to a low-bit grid column by column, compensating each rounding error."""

    name = "gptq"
    Params = QuantParams

    def sweep(self, weight: Tensor, hessian: Tensor, index: int, n_blocks: int) -> Tensor:
        return obs_sweep(weight, hessian, grid=self.params.grid, group_size=self.params.group_size)
