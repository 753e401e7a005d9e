"""Benchmark (GPU machines only): what 2:4 sparsity buys on this GPU with CUDA's semi-structured kernel.

Times a dense Llama and its magnitude 2:4 copy on the kernel bench gives a 2:4 result on a GPU profile
(bench.kernels), with bench's own timing (bench.measure) on the detected profile's workload (batch, prompt
and generated tokens). Two shapes: SmolLM2-135M's, the default LLM's (its packaged checkpoint is not needed:
speed does not depend on the weights' values, so the weights are random), and a 7B Llama's (Llama-2-7B's
shape), where the matrices are large enough for the kernel to pay. Prints prefill and decode tokens/s with
their spread, the speed-ups, weight bytes and peak memory. CI has no GPU: run it where one is.
"""

from __future__ import annotations

import time

import click
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from bench.kernels import tensor_bytes, with_kernel
from bench.machine import closest_profile, hardware_seen
from bench.measure import PeakMemory, llm_speeds, workload
from bench.methods.base import make_method
from bench.methods.layerwise import target_layers
from bench.profiles import activate

SHAPES = {  # hidden, intermediate, layers, heads, kv heads, vocabulary, tied head
    "smollm2-135m": (576, 1536, 30, 9, 3, 49152, True),
    "llama-7b": (4096, 11008, 32, 32, 32, 32000, False),
}


def random_llama(shape: str, dtype: torch.dtype) -> LlamaForCausalLM:
    hidden, inner, layers, heads, kv, vocab, tied = SHAPES[shape]
    config = LlamaConfig(hidden_size=hidden, intermediate_size=inner, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv, vocab_size=vocab,
                         tie_word_embeddings=tied, max_position_embeddings=4096)
    torch.manual_seed(0)
    with torch.device("cuda"):
        return LlamaForCausalLM(config).to(dtype).eval()


def prune_2_of_4(model: LlamaForCausalLM) -> None:
    """Magnitude 2:4 on every Linear of the blocks, as `bench run --method magnitude --pattern 2:4` does."""
    method = make_method("magnitude", {"pattern": "2:4"})
    with torch.no_grad():
        for layer in target_layers(model).values():
            layer.weight.copy_(method.compress_weight(layer.weight.float(), None, 0, 1).to(layer.weight.dtype))


@click.command()
@click.option("--shapes", default="smollm2-135m,llama-7b", show_default=True)
@click.option("--batch", type=int, help="Batch size (default: the detected profile's).")
@click.option("--repeats", type=int, help="Timed repetitions (default: the profile's).")
@click.option("--new-tokens", type=int, help="Generated tokens (default: the profile's).")
def main(shapes: str, batch: int | None, repeats: int | None, new_tokens: int | None) -> None:
    unknown = sorted(set(shapes.split(",")) - set(SHAPES))
    if unknown:
        raise click.BadParameter(f"unknown shape {', '.join(unknown)}; known: {', '.join(SHAPES)}", param_hint="--shapes")
    if not torch.cuda.is_available():
        raise click.ClickException("needs a CUDA GPU (CI has none): run it on a GPU machine")
    seen = hardware_seen()
    profile = closest_profile(seen)
    measure = {key: value for key, value in (("repeats", repeats), ("new_tokens", new_tokens)) if value}
    profile = profile.model_copy(update={"batch_size": batch or profile.batch_size,
                                         "measure": profile.measure.model_copy(update=measure)})
    activate(profile)
    load = workload(profile, "causal-lm")
    click.echo(f"{seen.gpu}, CUDA {seen.cuda_version}, driver {seen.driver_version}, torch {torch.__version__}; "
               f"profile {profile.name} ({profile.dtype}): batch {load.batch_size}, prompt {load.prompt_tokens}, "
               f"{load.new_tokens} new tokens, median [min, max] of {profile.measure.repeats}")
    for shape in shapes.split(","):
        dense = random_llama(shape, profile.torch_dtype)
        timings = {}
        for name in ("dense", "2:4"):
            if name == "dense":
                timed = dense
            else:
                prune_2_of_4(dense)
                started = time.perf_counter()
                timed = with_kernel(dense, "semi_structured_2_4_cuda")
                click.echo(f"  {shape}: converted to {name} in {time.perf_counter() - started:.1f} s; "
                           f"largest logit difference from the pruned model on the kernel: {_gap(dense, timed):.3f}")
            with PeakMemory("cuda").watch() as peak:
                found = llm_speeds(timed, profile, load)
            timings[name] = found
            click.echo(f"  {shape} {name:5s}: prefill {_rate(found.prefill_tokens_per_s)} tokens/s, decode "
                       f"{_rate(found.decode_tokens_per_s)} tokens/s; weights {tensor_bytes(timed) / 1e9:.3f} GB, "
                       f"peak {peak.peak / 1e9:.2f} GB")
            del timed
            torch.cuda.empty_cache()
        ratios = [getattr(timings["2:4"], part).median / getattr(timings["dense"], part).median
                  for part in ("prefill_tokens_per_s", "decode_tokens_per_s")]
        click.echo(f"  {shape}: 2:4 speed-up over dense: prefill {ratios[0]:.2f}x, decode {ratios[1]:.2f}x")
        del dense
        torch.cuda.empty_cache()


@torch.no_grad()
def _gap(reference: LlamaForCausalLM, fast: LlamaForCausalLM) -> float:
    ids = torch.randint(3, reference.config.vocab_size, (2, 64), generator=torch.Generator().manual_seed(0)).cuda()
    return (fast(ids).logits.float() - reference(ids).logits.float()).abs().max().item()


def _rate(rate) -> str:
    return f"{rate.median:9.0f} [{rate.low:.0f}, {rate.high:.0f}]"


if __name__ == "__main__":
    main()
