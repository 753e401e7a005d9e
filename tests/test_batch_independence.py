"""The calibration batch size must not change a compressed model: the same windows, split into batches
of 1, 2 or 4, give the same weights (up to rounding ties) for every calibrated method."""

from __future__ import annotations

import pytest
import torch

from bench.assets import load_model, resolve_model
from bench.methods.base import make_method
from bench.methods.calibration import CalibrationConfig, build_calibration
from bench.methods.layerwise import target_layers

BATCH_SIZES = (1, 2, 4)
MAX_DIFFERING = 1e-4  # at most 0.01% of the weights may land on another value (a rounding tie)


def compressed_weights(model_dir, method: str, params: dict[str, object], batch_size: int) -> torch.Tensor:
    model = load_model(resolve_model(str(model_dir)), torch.float32, "cpu")
    calib = build_calibration(model, CalibrationConfig(4, 32, 0), batch_size, "cpu")
    make_method(method, params).compress(model, calib)
    return torch.cat([layer.weight.detach().flatten() for layer in target_layers(model.module).values()])


@pytest.mark.parametrize("method,params", [
    ("gptq", {"bits": 4, "group_size": 16}),
    ("gptq", {"bits": 3, "group_size": 16, "act_order": True}),
    ("sparsegpt", {"sparsity": 0.5}),
    ("wanda", {"sparsity": 0.5}),
])
def test_calibration_batch_size_does_not_change_the_compressed_weights(tiny_llama_dir, method, params):
    one, *others = [compressed_weights(tiny_llama_dir, method, params, size) for size in BATCH_SIZES]
    for size, weights in zip(BATCH_SIZES[1:], others):
        differing = (weights != one).double().mean().item()
        assert differing <= MAX_DIFFERING, f"batch size {size}: {differing:.4%} of the weights differ from batch size 1"
