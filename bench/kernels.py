"""The fast kernel a compressed variant's speed is timed with, where its profile has one for its format:
int8 dynamic quantization on CPU for 8-bit weights, CUDA's 2:4 semi-structured sparse kernels for 2:4.
Anything else runs as it is evaluated (dense tensors holding zeros or grid values) and is called nominal."""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from bench.methods.base import Method
from bench.methods.layerwise import target_layers
from bench.methods.params import PruneParams
from bench.profiles import Profile

NOMINAL = "nominal"


def kernel_for(method: Method, profile: Profile) -> str:
    """The kernel the profile has for this method's storage format, or NOMINAL."""
    params = method.params
    bits, n_m = getattr(params, "bits", None), getattr(params, "n_m", None)
    pruned = isinstance(params, PruneParams) and (n_m or params.target_sparsity > 0)
    if bits == 8 and not pruned and profile.device == "cpu" and "int8_dynamic_cpu" in profile.kernels:
        return "int8_dynamic_cpu"
    if n_m == (2, 4) and not bits and profile.device == "cuda" and "semi_structured_2_4_cuda" in profile.kernels:
        return "semi_structured_2_4_cuda"
    return NOMINAL


def with_kernel(module: nn.Module, kernel: str) -> nn.Module:
    """A copy of `module` whose compressed layers run on `kernel` (the module itself when nominal). The
    scores come from the evaluated module; this copy is only timed."""
    if kernel == NOMINAL:
        return module
    names = set(target_layers(module))
    if kernel == "int8_dynamic_cpu":
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():  # torch points to torchao for new code; the eager kernel is what it is
            warnings.simplefilter("ignore")
            return quantize_dynamic(module, names, dtype=torch.qint8, inplace=False)
    fast = copy.deepcopy(module)
    for name, layer in target_layers(fast).items():
        fast.set_submodule(name, SemiStructuredLinear(layer))
    return fast


class SemiStructuredLinear(nn.Module):
    """A 2:4 Linear whose weight is in CUDA's semi-structured layout. The kernel multiplies 2-D inputs only (a
    3-D one fails inside its dispatch), so the leading dimensions are folded into rows and restored."""

    def __init__(self, layer: nn.Linear) -> None:
        from torch.sparse import to_sparse_semi_structured

        super().__init__()
        # torch picks the layout: cuSPARSELt where it is built in (CUTLASS's runs on compute capability 8.x only)
        self.weight = nn.Parameter(to_sparse_semi_structured(layer.weight.detach()), requires_grad=False)
        self.bias = layer.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        return nn.functional.linear(rows, self.weight, self.bias).reshape(*x.shape[:-1], -1)


def tensor_bytes(module: nn.Module) -> int:
    """Bytes of every tensor the module holds in memory, packed quantized weights and sparse kernels' own
    layouts included, a tied tensor once."""
    seen, total = set(), 0

    def add(value: object) -> None:
        nonlocal total
        if isinstance(value, (tuple, list)):
            for item in value:
                add(item)
        elif isinstance(value, torch.Tensor) and id(value) not in seen:
            seen.add(id(value))
            parts = [getattr(value, name) for name in ("packed", "meta") if getattr(value, name, None) is not None]
            if parts:  # a semi-structured sparse tensor: its compressed values and metadata
                total += sum(p.nelement() * p.element_size() for p in parts)
            else:
                total += value.nelement() * value.element_size()

    for value in module.state_dict(keep_vars=True).values():  # dynamic int8 Linear: a (qint8 weight, bias) tuple
        add(value)
    return total
