"""Honest accounting: N:M slots, whole-model bits per weight, weights no method reached, and what the
report and the site show for each kind of row."""

import pytest
import torch

from bench.assets import LoadedModel, load_model, resolve_model
from bench.methods.base import make_method
from bench.methods.llm.sparsity import n_m_mask
from bench.methods.storage import n_m_bytes
from bench.schema import ModelInfo


def test_n_m_storage_counts_every_slot_even_when_kept_values_are_zero():
    torch.manual_seed(0)
    weight = torch.randn(8, 64)
    keep = n_m_mask(weight.abs(), 2, 4)
    weight = weight * keep
    full = n_m_bytes(weight, 2, 4)[1]
    assert full == 8 * (64 // 4) * 2 * (16 + 2) // 8  # 2 fp16 slots + 2-bit positions per group of 4
    weight[keep & (torch.rand(8, 64) < 0.5)] = 0  # kept, yet zero (e.g. rounded to 0 by a 2-bit grid)
    assert n_m_bytes(weight, 2, 4)[1] == full
    assert n_m_bytes(weight, 2, 4, value_bits=2)[1] == 8 * 16 * 2 * (2 + 2) // 8
    assert n_m_bytes(weight, 1, 4)[1] == full // 2  # N slots per group, not M - zeros
    assert n_m_bytes(weight, 4, 8)[1] == 8 * (64 // 8) * 4 * (16 + 3) // 8


@pytest.fixture(scope="module")
def tiny_llama(tiny_llama_dir):
    return resolve_model(str(tiny_llama_dir))


def test_whole_model_bits_count_embeddings_norms_and_tied_weights_once(tiny_llama):
    model = load_model(tiny_llama, torch.float32, "cpu")
    facts = make_method("rtn", {"bits": 4, "group_size": 16}).compress(model, None)
    state = model.module.state_dict()
    assert state["lm_head.weight"].data_ptr() == state["model.embed_tokens.weight"].data_ptr()  # tied
    unique = {t.data_ptr(): t.numel() for t in state.values()}
    total = sum(unique.values())
    assert total < sum(t.numel() for t in state.values())
    assert facts.model_params == total
    layer_bits = 4 + (16 + 4) / 16  # packed codes + an fp16 scale and a 4-bit zero point per 16
    assert facts.bits_per_weight == pytest.approx(layer_bits)
    assert facts.model_bits_per_weight == pytest.approx(
        (layer_bits * facts.target_params + 16 * (total - facts.target_params)) / total)
    assert facts.model_bytes == facts.storage_bytes + 2 * (total - facts.target_params)
    assert facts.untouched_params == 0 and facts.untouched_weights == []


@pytest.fixture()
def tiny_moe():
    """A 2-layer random Mixtral: its experts are fused 3-D parameters (experts, 2 * ffn, hidden)."""
    from transformers import MixtralConfig, MixtralForCausalLM

    torch.manual_seed(0)
    config = MixtralConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                           num_attention_heads=2, num_key_value_heads=1, num_local_experts=4, num_experts_per_tok=2)
    module = MixtralForCausalLM(config).eval()
    info = ModelInfo(name="local/tiny-moe", source="test", kind="causal-lm",
                     n_params=sum(p.numel() for p in module.parameters()))
    return LoadedModel(info=info, module=module, tokenizer=None)


def test_expert_weights_no_linear_holds_are_listed_and_counted_dense(tiny_moe):
    experts = tiny_moe.module.model.layers[0].mlp.experts.gate_up_proj
    assert experts.dim() == 3
    facts = make_method("magnitude", {"sparsity": 0.5}).compress(tiny_moe, None)
    names = facts.untouched_weights
    assert "model.layers.0.mlp.experts.gate_up_proj" in names and "model.layers.1.mlp.experts.down_proj" in names
    assert not any("norm" in name or "embed" in name for name in names)  # 1-D scales and outside-block weights
    block = {name: p for name, p in tiny_moe.module.named_parameters() if name in names}
    assert facts.untouched_params == sum(p.numel() for p in block.values())
    assert all(int((p == 0).sum()) == 0 for p in block.values())  # really left dense
    # 50% of the Linear weights are zero, but they are a minority of the block weights
    zeros = facts.target_params // 2
    assert facts.sparsity == pytest.approx(zeros / (facts.target_params + facts.untouched_params), abs=1e-3)
    assert facts.sparsity < 0.25
    assert facts.model_bytes == facts.storage_bytes + 2 * (facts.model_params - facts.target_params)
