"""Every method on a tiny random Llama: it compresses, reports measured facts, and the model runs."""

import pytest
import torch

from bench.assets import load_model, resolve_model
from bench.methods.base import make_method
from bench.methods.calibration import CalibrationConfig, build_calibration
from bench.methods.layerwise import find_blocks, linear_layers, target_layers
from bench.methods.llm.lowrank import truncated_svd
from bench.methods.storage import lowrank_bytes, n_m_bytes, quant_bytes, sparse_bytes


@pytest.fixture(scope="module")
def compress(tiny_llama_dir):
    ref = resolve_model(str(tiny_llama_dir))

    def run(name, params, seed=0):
        model = load_model(ref, torch.float32, "cpu")
        method = make_method(name, params, seed)
        calib = build_calibration(model, CalibrationConfig(4, 32, 0), 2, "cpu") if method.needs_calibration else None
        facts = method.compress(model, calib)
        with torch.no_grad():
            assert torch.isfinite(model.module(torch.tensor([[1, 2, 3, 4]])).logits).all()
        return model, facts

    return run


@pytest.mark.parametrize("name", ["random", "magnitude", "wanda", "sparsegpt"])
@pytest.mark.parametrize("params,bits_per_weight", [({"sparsity": 0.5}, 1 + 8), ({"pattern": "2:4"}, (16 + 2) / 2)])
def test_pruning_methods_reach_the_sparsity_and_report_its_storage(compress, name, params, bits_per_weight):
    model, facts = compress(name, params)
    assert facts.sparsity == pytest.approx(0.5, abs=1e-3)
    assert facts.target_layers == 14 and facts.excluded_layers == ["lm_head"]
    assert facts.bits_per_weight == pytest.approx(bits_per_weight, rel=0.02)
    assert facts.dense_bytes == 2 * facts.target_params


@pytest.mark.parametrize("name", ["rtn", "gptq"])
def test_quantization_methods_put_weights_on_a_4_bit_grid(compress, name):
    model, facts = compress(name, {"bits": 4, "group_size": 16})
    assert facts.bits_per_weight == pytest.approx(4 + (16 + 4) / 16)
    for layer in target_layers(model.module).values():
        for group in layer.weight.split(16, dim=1):
            assert all(row.unique().numel() <= 16 for row in group)


@pytest.mark.parametrize("bits", [4, 2])
def test_sparsegpt_prunes_and_quantizes_jointly(compress, bits):
    model, facts = compress("sparsegpt", {"pattern": "2:4", "bits": bits, "group_size": 16})
    assert facts.sparsity >= 0.5
    # kept weights that round to 0 still fill their 2:4 slot: exactly 2 slots of `bits` + 2 index bits
    # per 4 weights, plus an fp16 scale and a `bits`-bit zero point per 16
    assert facts.bits_per_weight == pytest.approx((bits + 2) / 2 + (16 + bits) / 16)


def test_a_schedule_ramps_sparsity_over_blocks(compress):
    model, facts = compress("wanda", {"schedule": "0.2:0.8"})
    per_block = [sum(int((l.weight == 0).sum()) for l in linear_layers(b).values())
                 / sum(l.weight.numel() for l in linear_layers(b).values()) for b in find_blocks(model.module)]
    assert per_block == pytest.approx([0.2, 0.8], abs=0.02)
    assert facts.sparsity == pytest.approx(0.5, abs=0.02)


def test_random_pruning_is_seeded(compress):
    first = compress("random", {}, seed=1)[0].module.model.layers[0].mlp.up_proj.weight
    again = compress("random", {}, seed=1)[0].module.model.layers[0].mlp.up_proj.weight
    other = compress("random", {}, seed=2)[0].module.model.layers[0].mlp.up_proj.weight
    assert torch.equal(first == 0, again == 0) and not torch.equal(first == 0, other == 0)


def test_one_random_method_gives_the_same_mask_to_each_model_it_compresses(tiny_llama_dir):
    """A run compresses each default model with one method object: the second mask must not depend on the first."""
    method = make_method("random", {}, seed=3)
    masks = []
    for _ in range(2):
        model = load_model(resolve_model(str(tiny_llama_dir)), torch.float32, "cpu")
        method.compress(model, None)
        masks.append(model.module.model.layers[0].mlp.up_proj.weight == 0)
    assert torch.equal(*masks)


def test_lowrank_reports_factor_bytes_and_full_rank_reproduces_the_layer(compress):
    _, facts = compress("lowrank", {"rank_ratio": 0.25})
    assert facts.storage_format == "low-rank factors"
    weight = torch.randn(12, 20)
    assert torch.allclose(truncated_svd(weight, 12), weight, atol=1e-5)
    assert torch.linalg.matrix_rank(truncated_svd(weight, 3)) == 3


def test_storage_formats_count_their_overheads():
    weight = torch.randn(8, 64)
    weight[:, ::2] = 0  # 50% zeros
    assert sparse_bytes(weight) == ("bitmask", 8 * 64 // 8 + 8 * 32 * 2)
    assert sparse_bytes(torch.zeros(8, 64).index_fill_(1, torch.tensor([0]), 1.0))[0] == "csr"
    assert n_m_bytes(weight, 2, 4)[1] == 8 * 32 * (16 + 2) // 8
    assert quant_bytes(weight, 4, 32)[1] == 8 * 64 // 2 + 8 * 2 * (2 + 0.5)
    assert lowrank_bytes(8, 64, 2)[1] == 2 * 72 * 2


@pytest.mark.parametrize("name,params", [("sparsegpt", {"sparsity": 0.5}), ("gptq", {"bits": 4, "group_size": 16}),
                                         ("wanda", {"pattern": "2:4"})])
def test_calibrated_methods_compress_an_encoder_too(tiny_encoder_dir, name, params):
    model = load_model(resolve_model(str(tiny_encoder_dir)), torch.float32, "cpu")
    method = make_method(name, params)
    facts = method.compress(model, build_calibration(model, CalibrationConfig(2, 32, 0), 2, "cpu"))
    assert facts.target_layers == 12
    assert facts.bits_per_weight < 16
    assert torch.isfinite(torch.as_tensor(model.module.encode(["a short sentence"]))).all()
