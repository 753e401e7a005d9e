"""The llm-compressor side of `benchmarks.bench_crosscheck`, run inside `.venv-crosscheck`.

llm-compressor pins an older transformers than bench, so it gets its own virtualenv and this
script imports nothing from bench: it compresses a saved checkpoint with llm-compressor's GPTQ,
SparseGPT or RTN on the calibration windows bench drew (token ids), and saves the weights of the
compressed Linear layers, dequantized, for bench to load into its own model and score.
"""

from __future__ import annotations

from pathlib import Path

import click
import torch
from compressed_tensors.quantization import QuantizationArgs, QuantizationScheme
from compressed_tensors.quantization.lifecycle.forward import forward_quantize
from datasets import Dataset
from llmcompressor import oneshot
from llmcompressor.modifiers.gptq import GPTQModifier
from llmcompressor.modifiers.pruning.sparsegpt import SparseGPTModifier
from llmcompressor.modifiers.quantization import QuantizationModifier
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from transformers import AutoModelForCausalLM, AutoTokenizer

IGNORE = ["lm_head"]  # bench compresses the Linear layers inside the decoder blocks only


def weight_scheme(bits: int, group_size: int, actorder: str | None) -> QuantizationScheme:
    """Asymmetric integer weights with a scale per `group_size` inputs of a row, as bench's grid. The
    "block" strategy with blocks of [1, group_size] is that grid; llm-compressor's "group" strategy
    refuses a width that the group size does not divide (576 on the default model)."""
    args = QuantizationArgs(num_bits=bits, type="int", symmetric=False, strategy="block",
                            block_structure=[1, group_size], actorder=actorder)
    return QuantizationScheme(targets=["Linear"], weights=args)


def make_modifier(method: str, bits: int, group_size: int, sparsity: float, actorder: str | None,
                  damp: float, block_size: int):
    if method == "rtn":
        return QuantizationModifier(config_groups={"group_0": weight_scheme(bits, group_size, None)}, ignore=IGNORE)
    if method == "gptq":
        return GPTQModifier(config_groups={"group_0": weight_scheme(bits, group_size, actorder)}, ignore=IGNORE,
                            actorder=actorder, dampening_frac=damp, block_size=block_size)
    if method == "sparsegpt":
        return SparseGPTModifier(sparsity=sparsity, mask_structure="0:0", targets=["Linear"], ignore=IGNORE,
                                 dampening_frac=damp, block_size=block_size)
    raise click.BadParameter(f"unknown method {method!r}", param_hint="--method")


def compressed_weights(model: nn.Module) -> dict[str, Tensor]:
    """Each compressed Linear's weight as the model computes with it: a quantized layer rounds its
    weight to its grid in every forward pass (RTN leaves the stored weight in float)."""
    weights = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear) or name in IGNORE:
            continue
        args = getattr(getattr(module, "quantization_scheme", None), "weights", None)
        weight = forward_quantize(module, module.weight, "weight", args) if args else module.weight
        weights[f"{name}.weight"] = weight.detach().to(torch.float32).contiguous()
    return weights


@click.command()
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), required=True)
@click.option("--windows", type=click.Path(exists=True, dir_okay=False), required=True,
              help="safetensors file holding `input_ids` (samples, seqlen): bench's calibration windows.")
@click.option("--method", type=click.Choice(["rtn", "gptq", "sparsegpt"]), required=True)
@click.option("--bits", type=int, default=4, show_default=True)
@click.option("--group-size", type=int, default=128, show_default=True)
@click.option("--sparsity", type=float, default=0.5, show_default=True)
@click.option("--actorder", type=click.Choice(["static", "group", "weight"]), default=None,
              help="GPTQ activation ordering (default: none, columns in their order).")
@click.option("--damp", type=float, default=0.01, show_default=True)
@click.option("--block-size", type=int, default=128, show_default=True)
@click.option("--batch-size", type=int, default=1, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True)
def main(model_dir: str, windows: str, method: str, bits: int, group_size: int, sparsity: float,
         actorder: str | None, damp: float, block_size: int, batch_size: int, out: str) -> None:
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    ids = load_file(windows)["input_ids"]
    dataset = Dataset.from_dict({"input_ids": ids.tolist(), "attention_mask": torch.ones_like(ids).tolist()})
    recipe = make_modifier(method, bits, group_size, sparsity, actorder, damp, block_size)
    oneshot(model=model, tokenizer=tokenizer, dataset=dataset, recipe=recipe, num_calibration_samples=len(ids),
            max_seq_length=ids.shape[1], batch_size=batch_size, shuffle_calibration_samples=False)
    save_file(compressed_weights(model), str(Path(out)))


if __name__ == "__main__":
    main()
