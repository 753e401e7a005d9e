"""Compression facts measured on the compressed weights, never copied from the requested params."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from bench.assets import LoadedModel
from bench.methods.layerwise import target_layers
from bench.methods.storage import dense_bytes
from bench.schema import CompressionFacts

StorageFn = Callable[[Tensor], tuple[str, int]]  # a weight -> (format name, bytes stored)


def measure_facts(model: LoadedModel, storage: StorageFn) -> CompressionFacts:
    """Sparsity and storage measured on the compressed weights of the targeted layers."""
    layers = target_layers(model.module)
    targeted = set(map(id, layers.values()))
    weights = [layer.weight.detach() for layer in layers.values()]
    target_params = sum(w.numel() for w in weights)
    formats, stored = zip(*(storage(w) for w in weights))
    all_params = list(model.module.parameters())
    return CompressionFacts(
        target_layers=len(layers), target_params=target_params,
        sparsity=sum(int((w == 0).sum()) for w in weights) / target_params,
        param_sparsity=sum(int((p == 0).sum()) for p in all_params) / sum(p.numel() for p in all_params),
        storage_format=" | ".join(sorted(set(formats))), storage_bytes=sum(stored),
        dense_bytes=sum(map(dense_bytes, weights)), bits_per_weight=8 * sum(stored) / target_params,
        excluded_layers=[name for name, m in model.module.named_modules()
                         if isinstance(m, torch.nn.Linear) and id(m) not in targeted],
    )
