"""Honest accounting: N:M slots, whole-model bits per weight, weights no method reached, and what the
report and the site show for each kind of row."""

import pytest
import torch

from bench.assets import LoadedModel, load_model, resolve_model
from bench.methods.base import make_method
from bench.methods.llm.sparsity import n_m_mask
from bench.methods.storage import n_m_bytes
from bench.report import load_table, result_row, suite_view
from bench.schema import CompressionFacts, ModelInfo, RunResult, VectorFacts
from submissions import dense_data, items_ref, on_task, write_items_beside


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


def _result(method: str, compression=None, codec: str | None = None, task: str = "wiki_retrieval",
            score: float = 0.5) -> RunResult:
    vectors = VectorFacts(codec=codec, dims=32, bytes_per_vector=32.0, index_bytes=320,
                          query_latency_ms_p50=0.1) if codec else None
    return RunResult.model_validate(on_task({
        "model": {"name": "org/enc", "source": "x", "kind": "encoder", "n_params": 1000},
        "method": {"name": method.split("-")[0].split("+")[0], "params": {}, "slug": method},
        "task": {"name": "wiki_retrieval", "version": 1, "backend": "mteb", "data_hash": "h", "n_items": 5,
                 "engine_version": "mteb"},
        "profile": "cpu-2c", "hardware": dense_data()["hardware"], "main_metric": "ndcg_at_10", "higher_is_better": True,
        "main_score": score, "metrics": {"ndcg_at_10": score},
        "items": items_ref(task, "ndcg_at_10", "mean", {"value": [score] * 5}),
        "dense_reference": None if method == "dense" else {"main_score": 0.6, "path": f"org__enc/dense/cpu-2c/{task}.json"},
        "compression": compression, "vectors": vectors,
        "efficiency": {"eval_seconds": 1.0}, "environment": {"python": "3", "packages": {}, "git_hash": None, "seed": 0},
        "date": "2025-01-01T00:00:00Z",
        **{field: dense_data()[field] for field in ("config", "config_hash")},
    }, task))


FACTS = CompressionFacts(target_layers=2, target_params=800, sparsity=0.5, param_sparsity=0.4,
                         storage_format="bitmask", storage_bytes=900, dense_bytes=1600, bits_per_weight=9.0,
                         model_params=1000, model_bytes=1300, model_bits_per_weight=10.4, untouched_params=0,
                         untouched_weights=[])


def test_rows_say_what_their_weights_and_vectors_cost():
    dense = result_row(_result("dense"))
    assert (dense["model_bits_per_weight"], dense["layer_bits_per_weight"], dense["bytes_per_vector"]) == (16, 16, None)
    vector_only = result_row(_result("dense+int8", codec="int8"))  # the encoder's weights were not touched
    assert vector_only["bytes_per_vector"] == 32
    assert vector_only["model_bits_per_weight"] is None and vector_only["sparsity"] is None
    both = result_row(_result("wanda-sp0.5+int8", compression=FACTS, codec="int8"))
    assert (both["model_bits_per_weight"], both["layer_bits_per_weight"], both["bytes_per_vector"]) == (10.4, 9, 32)
    unread = result_row(_result("none-packed"))  # a checkpoint whose packed kernels bench cannot read
    assert unread["model_bits_per_weight"] is None


def test_old_result_files_without_the_whole_model_figure_still_load():
    old = FACTS.model_dump(exclude={"model_params", "model_bytes", "model_bits_per_weight", "untouched_params",
                                    "untouched_weights"})
    row = result_row(_result("wanda-sp0.5", compression=old))
    assert row["layer_bits_per_weight"] == 9 and row["model_bits_per_weight"] is None


def test_report_and_site_show_the_whole_model_figure_and_bytes_per_vector(tmp_path):
    import re

    from click.testing import CliRunner

    from bench.cli import cli
    from bench.schema import save_result
    from bench.site.build import build

    from bench.schema import result_path

    for task in ("wiki_retrieval", "pydoc_retrieval"):
        for result in [_result("dense", task=task, score=0.6), _result("dense+binary", codec="binary", task=task),
                       _result("wanda-sp0.5", compression=FACTS, task=task)]:
            path = result_path(tmp_path / "subs", "org__enc", result.method.slug, "cpu-2c", task)
            save_result(result, path)
            write_items_beside(path, result.model_dump(mode="json"))

    view = suite_view(load_table(tmp_path / "subs"), ["wiki_retrieval", "pydoc_retrieval"])
    rows = view.set_index("method")
    assert rows.loc["wanda-sp0.5", "model_bits_per_weight"] == 10.4
    assert rows.loc["dense+binary", "bytes_per_vector"] == 32
    report = CliRunner().invoke(cli, ["report", "--suite", "retrieval", "--submissions", str(tmp_path / "subs")])
    assert report.exit_code == 0 and "model_bits_per_weight" in report.output and "10.40" in report.output

    build(tmp_path / "subs", tmp_path / "site")
    html = (tmp_path / "site/task-wiki_retrieval.html").read_text()
    assert "bits/weight (whole model)" in html and "bits/weight (compressed layers)" in html
    assert "bytes/vector" in html and "10.40" in html
    vector_rows = re.findall(r"<tr[^>]*><td><a [^>]*>org/enc</a></td><td>dense\+binary.*?</tr>", html, re.S)
    assert vector_rows and all("32" in row and "16.00" not in row for row in vector_rows)
