"""sha256 of what a result was scored on: the documents an engine evaluated and the weights of the model."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn


def _canonical(value: Any) -> Any:
    """A JSON-ready copy: mappings with sorted string keys, sequences and datasets as lists, bytes as hex."""
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    if isinstance(value, Iterable):  # lists, tuples, a datasets.Dataset's rows
        return [_canonical(item) for item in value]
    raise TypeError(f"cannot hash a {type(value).__name__} as data")


def documents_hash(documents: Mapping[str, Any]) -> str:
    """sha256 of named collections of documents (lists, datasets, mappings of them), one canonical JSON
    line per document: the same documents give the same hash wherever they were loaded from."""
    digest = hashlib.sha256()
    for name in sorted(documents):
        digest.update(json.dumps(name).encode() + b"\n")
        collection = documents[name]
        items = sorted(collection.items()) if isinstance(collection, Mapping) else collection
        for item in items:
            digest.update(json.dumps(_canonical(item), sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def weights_hash(module: nn.Module) -> str:
    """sha256 of every tensor of the state dict in name order, each as name, dtype, shape and raw bytes in the
    dtype it was evaluated in; a tied weight counts once, under its first name."""
    digest = hashlib.sha256()
    seen: set[tuple[int, tuple[int, ...], tuple[int, ...]]] = set()
    state = module.state_dict()
    for name in sorted(state):
        tensor = state[name].detach()
        key = (tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()))
        if tensor.numel() and key in seen:
            continue
        seen.add(key)
        digest.update(f"{name}:{str(tensor.dtype).removeprefix('torch.')}:{list(tensor.shape)}\n".encode())
        digest.update(tensor.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
