"""Block discovery and the block-by-block calibration loop, on tiny random models."""

import pytest
import torch

from bench.assets import load_model, resolve_model
from bench.methods.calibration import CalibrationConfig, build_calibration
from bench.methods.layerwise import SQUARED_NORMS, compress_layerwise, find_blocks, target_layers


@pytest.fixture(scope="module")
def tiny_llama(tiny_llama_dir):
    return load_model(resolve_model(str(tiny_llama_dir)), torch.float32, "cpu")


def test_blocks_are_found_by_structure_in_decoders_and_encoders(tiny_llama, tiny_encoder_dir):
    assert find_blocks(tiny_llama.module) is tiny_llama.module.model.layers
    layers = target_layers(tiny_llama.module)
    assert len(layers) == 2 * 7 and not any("lm_head" in name for name in layers)
    encoder = load_model(resolve_model(str(tiny_encoder_dir)), torch.float32, "cpu")
    assert encoder.info.kind == "encoder"
    assert find_blocks(encoder.module) is encoder.module[0].auto_model.encoder.layer
    assert len(target_layers(encoder.module)) == 2 * 6  # q, k, v, attention out, intermediate, output


def test_calibration_windows_are_seeded_and_hashed(tiny_llama):
    config = CalibrationConfig(samples=3, seqlen=16, seed=7)
    first = build_calibration(tiny_llama, config, batch_size=2, device="cpu")
    again = build_calibration(tiny_llama, config, batch_size=2, device="cpu")
    other = build_calibration(tiny_llama, CalibrationConfig(3, 16, 8), batch_size=2, device="cpu")
    assert [b.shape for b in first.batches] == [(2, 16), (1, 16)]
    assert first.record.data_hash == again.record.data_hash != other.record.data_hash


def test_each_block_sees_the_outputs_of_the_blocks_compressed_before_it(tiny_llama_dir):
    """Zero block 0 in the visitor: block 1's statistics must match a full forward pass of a
    model whose block 0 was zeroed beforehand (not of the original model)."""
    model = load_model(resolve_model(str(tiny_llama_dir)), torch.float32, "cpu")
    calib = build_calibration(model, CalibrationConfig(samples=2, seqlen=16, seed=0), 2, "cpu")
    seen = []

    def zero_first_block(_index, block, stats):
        seen.append({name: s.clone() for name, s in stats.items()})
        if len(seen) == 1:
            for layer in block.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.weight.data.zero_()

    compress_layerwise(model.module, calib, SQUARED_NORMS, zero_first_block)

    expected = {}
    hooks = [layer.register_forward_hook(lambda _m, inp, _o, n=name: expected.__setitem__(n, inp[0].pow(2).sum((0, 1))))
             for name, layer in model.module.model.layers[1].named_modules() if isinstance(layer, torch.nn.Linear)]
    with torch.no_grad():
        calib.forward(calib.batches[0])
    for hook in hooks:
        hook.remove()
    assert len(seen) == 2
    for name, value in expected.items():
        assert torch.allclose(seen[1][name], value, rtol=1e-4, atol=1e-6), name


def test_blocks_holding_expert_lists_win_over_the_longer_expert_lists():
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.experts = torch.nn.ModuleList(torch.nn.Linear(4, 4) for _ in range(8))

    model = torch.nn.Sequential(torch.nn.ModuleList(Block() for _ in range(3)))
    assert find_blocks(model) is model[0]
