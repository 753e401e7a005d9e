"""Compression facts measured on the compressed weights, never copied from the requested params."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from bench.assets import LoadedModel
from bench.methods.layerwise import find_blocks, target_layers
from bench.methods.storage import dense_bytes
from bench.schema import CompressionFacts

StorageFn = Callable[[Tensor], tuple[str, int]]  # a weight -> (format name, bytes stored)


def untouched_weights(module: nn.Module, compressed: set[int]) -> dict[str, nn.Parameter]:
    """Weight tensors inside the repeated blocks that are not a compressed layer's weight: e.g.
    mixture-of-experts weights fused into one 3-D parameter, which no Linear layer holds. Norm
    scales and biases (1-D) are not weights a method compresses."""
    inside = {id(p) for p in find_blocks(module).parameters()}
    return {name: p for name, p in module.named_parameters()
            if id(p) in inside and id(p) not in compressed and p.dim() >= 2}


def measure_facts(model: LoadedModel, storage: StorageFn) -> CompressionFacts:
    """Sparsity and storage of the compressed layers, and of the whole model: every parameter the
    method did not compress (embeddings, head, norms, biases, untouched block weights) is counted as
    stored in fp16, and a tied weight once."""
    module = model.module
    layers = target_layers(module)
    targeted = {id(layer) for layer in layers.values()}
    compressed = {id(layer.weight): layer.weight.detach() for layer in layers.values()}
    weights = list(compressed.values())
    target_params = sum(w.numel() for w in weights)
    formats, stored = zip(*(storage(w) for w in weights))
    untouched = untouched_weights(module, set(compressed))
    block_weights = weights + [p.detach() for p in untouched.values()]
    all_params = list(module.parameters())  # a shared (tied) parameter is listed once
    model_params = sum(p.numel() for p in all_params)
    model_bytes = sum(stored) + sum(dense_bytes(p) for p in all_params if id(p) not in compressed)
    return CompressionFacts(
        target_layers=len(layers), target_params=target_params,
        sparsity=sum(int((w == 0).sum()) for w in block_weights) / sum(w.numel() for w in block_weights),
        param_sparsity=sum(int((p == 0).sum()) for p in all_params) / model_params,
        storage_format=" | ".join(sorted(set(formats))), storage_bytes=sum(stored),
        dense_bytes=sum(map(dense_bytes, weights)), bits_per_weight=8 * sum(stored) / target_params,
        model_params=model_params, model_bytes=model_bytes, model_bits_per_weight=8 * model_bytes / model_params,
        untouched_params=sum(p.numel() for p in untouched.values()), untouched_weights=list(untouched),
        excluded_layers=[name for name, m in module.named_modules()
                         if isinstance(m, torch.nn.Linear) and id(m) not in targeted],
    )


def describe(facts: CompressionFacts, seconds: float) -> list[str]:
    """The run log's lines on what a compression measured, each figure named for what it covers."""
    lines = [f"compressed {facts.target_layers} layers in {seconds:.1f} s: measured sparsity {facts.sparsity:.3f} "
             f"in the blocks, {facts.bits_per_weight:.2f} bits/weight in the compressed layers, "
             f"{facts.model_bits_per_weight:.2f} over the whole model ({facts.storage_format})"]
    if facts.untouched_params:
        lines.append(f"left {facts.untouched_params} weights in the blocks dense, outside any Linear layer "
                     f"({len(facts.untouched_weights)} tensors, e.g. {facts.untouched_weights[0]})")
    return lines
