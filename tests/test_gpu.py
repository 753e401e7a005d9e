"""The CUDA paths: 2:4 on the semi-structured kernel, the allocator's peak memory, profile detection.

CI has no GPU: each test here skips saying it needs one, and a skip is never counted as a pass. They import
nothing beyond torch, transformers and bench's measuring modules, so they run on a bare GPU machine.
"""

import math

import pytest
import torch

from bench.kernels import tensor_bytes, with_kernel
from bench.machine import closest_profile, hardware_seen, mismatches
from bench.measure import PeakMemory, dense_parent, measure_variant
from bench.methods.base import make_method
from bench.methods.layerwise import target_layers
from bench.profiles import PROFILES, MeasureSettings

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="GPU-only test: needs a CUDA GPU (CI has none; not a pass)")


def _pruned_linear() -> torch.nn.Module:
    linear = torch.nn.Linear(256, 256).half().cuda()
    linear.weight.data *= torch.tensor([1, 1, 0, 0], device="cuda", dtype=torch.half).repeat(256, 64)
    return torch.nn.Sequential(linear)


def test_2_of_4_on_a_gpu_is_timed_with_the_semi_structured_kernel():
    module = torch.nn.Module()
    module.layers = torch.nn.ModuleList([_pruned_linear(), _pruned_linear()])
    fast = with_kernel(module, "semi_structured_2_4_cuda")
    for x in (torch.randn(64, 256, device="cuda", dtype=torch.half),  # rows, and (batch, tokens, features)
              torch.randn(4, 16, 256, device="cuda", dtype=torch.half)):
        assert torch.allclose(fast.layers[0](x), module.layers[0](x), atol=1e-2, rtol=1e-2)
    assert tensor_bytes(fast) < tensor_bytes(module)


def test_a_2_of_4_llama_is_measured_on_the_kernel_with_fewer_weight_bytes_than_its_dense_parent():
    from transformers import LlamaConfig, LlamaForCausalLM

    profile = PROFILES.get("h100-80g").model_copy(update={
        "dtype": "float16", "batch_size": 4,
        "measure": MeasureSettings(prompt_tokens=64, new_tokens=4, repeats=2, warmup=1)})
    config = LlamaConfig(vocab_size=1024, hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).half().cuda().eval()
    dense_parent(model, "gpu-test-llama", "causal-lm", profile)
    method = make_method("magnitude", {"pattern": "2:4"})
    with torch.no_grad():
        for layer in target_layers(model).values():
            layer.weight.copy_(method.compress_weight(layer.weight.float(), None, 0, 1).half())
    measured = measure_variant(model, "gpu-test-llama", "causal-lm", method, profile)
    assert measured.kernel == "semi_structured_2_4_cuda"
    assert measured.weights_memory_bytes < measured.dense_weights_memory_bytes
    for rate in (measured.speeds.prefill_tokens_per_s, measured.speeds.decode_tokens_per_s):
        assert math.isfinite(rate.median) and 0 < rate.low <= rate.median <= rate.high and rate.repeats == 2


def test_peak_memory_on_a_gpu_is_the_allocators_peak():
    with PeakMemory("cuda").watch() as peak:
        block = torch.empty(64 * 2**20, dtype=torch.uint8, device="cuda")
        del block
    assert peak.source == "cuda" and peak.peak >= 64 * 2**20


def test_a_gpu_machine_is_seen_with_its_versions_and_matched_to_a_gpu_profile():
    seen = hardware_seen()
    assert seen.gpu and seen.gpu_memory_gb > 0 and seen.cuda_version
    best = closest_profile(seen)
    assert best.device == "cuda"
    if any(name in seen.gpu for name in ("H100", "H200", "A100")):  # a GPU a profile is written for
        assert mismatches(best, seen) == [], (best.name, mismatches(best, seen))
