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
        assert torch.allclose(seen[1][name], value.double(), rtol=1e-4, atol=1e-6), name


def test_blocks_holding_expert_lists_win_over_the_longer_expert_lists():
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.experts = torch.nn.ModuleList(torch.nn.Linear(4, 4) for _ in range(8))

    model = torch.nn.Sequential(torch.nn.ModuleList(Block() for _ in range(3)))
    assert find_blocks(model) is model[0]


@pytest.fixture(scope="module", params=["qwen2", "gemma3"])
def tiny_alternating_model(request, tmp_path_factory, tiny_llama_dir):
    """A 4-layer random model whose layers alternate sliding-window (4 tokens) and full attention:
    Qwen2 (a mask per layer type) or Gemma 3 (also rotary embeddings per layer type)."""
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    shape = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, sliding_window=4,
                 layer_types=["sliding_attention", "full_attention"] * 2)
    torch.manual_seed(0)
    if request.param == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(use_sliding_window=True, **shape))
    else:
        model = Gemma3ForCausalLM(Gemma3TextConfig(head_dim=8, **shape))
    path = tmp_path_factory.mktemp(f"tiny-{request.param}-alternating")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return load_model(resolve_model(str(path)), torch.float32, "cpu")


def test_each_block_gets_its_own_inputs_when_layer_types_alternate(tiny_alternating_model):
    """With an identity visitor, every block's statistics equal those of one plain forward pass:
    a full-attention block must not be fed the sliding-window mask of block 0 (windows of 4 tokens
    over 24-token sequences, so the two masks really differ)."""
    model = tiny_alternating_model
    calib = build_calibration(model, CalibrationConfig(samples=3, seqlen=24, seed=0), 2, "cpu")
    gathered = []
    compress_layerwise(model.module, calib, SQUARED_NORMS,
                       lambda _index, _block, stats: gathered.append({n: s.clone() for n, s in stats.items()}))

    blocks = find_blocks(model.module)
    expected = [{} for _ in blocks]

    def accumulate(index, name):
        def hook(_module, inputs, _output):
            total = expected[index].get(name, 0)
            expected[index][name] = total + inputs[0].pow(2).sum((0, 1))
        return hook

    hooks = [layer.register_forward_hook(accumulate(index, name))
             for index, block in enumerate(blocks)
             for name, layer in block.named_modules() if isinstance(layer, torch.nn.Linear)]
    with torch.no_grad():
        for batch in calib.batches:
            calib.forward(batch)
    for hook in hooks:
        hook.remove()
    assert len(gathered) == len(blocks) == 4
    for index, (seen, want) in enumerate(zip(gathered, expected)):
        assert seen.keys() == want.keys()
        for name, value in want.items():
            assert torch.allclose(seen[name], value.double(), rtol=1e-5, atol=1e-6), (index, name)
