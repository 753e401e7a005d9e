"""A compressed model written as safetensors in its storage format, so its bytes are measured on disk.

bench.methods.storage names each compressed layer's format and counts its bytes; here the same format is
built as real tensors: sparse weights as fp16 values plus a bitmap or CSR indices, N:M as value slots
plus packed position indices, quantized weights as packed integer codes plus fp16 scales and packed zero
points, low-rank as two fp16 factors. Every other parameter is stored as fp16, a tied one once.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import Tensor, nn

from bench.methods.layerwise import target_layers
from bench.methods.llm.quant import QuantGrid


def pack_bits(codes: Tensor, bits: int) -> Tensor:
    """Unsigned integer codes below 2**bits packed tightly into bytes (ceil(n * bits / 8) of them), first
    code in the highest bits, the last byte padded with zeros."""
    flat = codes.reshape(-1).to(torch.uint8).numpy()
    if bits == 8:
        return torch.from_numpy(flat.copy())
    if 8 % bits == 0:  # whole codes per byte: shifts, without the 8 bytes per code that unpacking takes
        per_byte = 8 // bits
        padded = np.zeros(-(-flat.size // per_byte) * per_byte, dtype=np.uint8)
        padded[:flat.size] = flat
        groups = padded.reshape(-1, per_byte)
        packed = np.zeros(len(groups), dtype=np.uint8)
        for k in range(per_byte):
            packed |= groups[:, k] << (8 - bits * (k + 1))
        return torch.from_numpy(packed)
    unpacked = np.unpackbits(flat[:, None], axis=1)[:, 8 - bits:]
    return torch.from_numpy(np.packbits(unpacked.reshape(-1)))


def _quantized(weight: Tensor, bits: int, group_size: int | None, symmetric: bool) -> dict[str, Tensor]:
    """Codes per (row, group) on the method's own grid (bench.methods.llm.quant), scales and zero points."""
    grid, size = QuantGrid(bits, symmetric), group_size or weight.shape[1]
    codes, scales, zeros = [], [], []
    for start in range(0, weight.shape[1], size):
        block = weight[:, start:start + size].float()
        scale, zero = grid.fit(block)
        codes.append(grid.codes(block, scale, zero))
        scales.append(scale)
        zeros.append(zero)
    return {"codes": torch.cat(codes, 1), "scales": torch.cat(scales, 1).half(), "zeros": torch.cat(zeros, 1)}


def _sparse_index(mask: Tensor, fmt: str) -> dict[str, Tensor]:
    """Where the kept values sit: a bitmap (1 bit per weight) or CSR (a column per value, a row pointer per row)."""
    if fmt.startswith("bitmask"):
        return {"bitmap": torch.from_numpy(np.packbits(mask.reshape(-1).numpy()))}
    index = torch.int16 if mask.shape[1] <= 2**15 else torch.int32  # safetensors has no uint16
    row_pointers = torch.cat([torch.zeros(1, dtype=torch.int64), mask.sum(1).cumsum(0)]).to(torch.int32)
    return {"columns": mask.nonzero()[:, 1].to(index), "row_pointers": row_pointers}


def pack_weight(weight: Tensor, fmt: str, params: Any) -> dict[str, Tensor]:
    """The tensors a layer stores in format `fmt` (as named by `params.storage`); values as fp16."""
    weight = weight.detach().float().cpu()
    if fmt.startswith("dense"):
        return {"weight": weight.half()}
    if fmt == "low-rank factors":
        rank = params.rank(*weight.shape)
        u, s, v = torch.svd_lowrank(weight, q=rank, niter=2)
        return {"left": (u * s).half(), "right": v.T.contiguous().half()}
    bits = int(re.search(r"int(\d+)", fmt).group(1)) if "int" in fmt else None
    if fmt.startswith("int"):  # quantization alone
        parts = _quantized(weight, bits, params.group_size, params.symmetric)
        packed = {"codes": pack_bits(parts["codes"], bits), "scales": parts["scales"],
                  "zeros": pack_bits(parts["zeros"], bits)}
        if fmt.endswith("group index"):
            packed["group_index"] = torch.zeros(weight.shape[1], dtype=torch.int32)
        return packed
    rows, cols = weight.shape
    if fmt.startswith("n:m"):  # N slots per group of M inputs: the N largest magnitudes hold every kept weight
        n, m = params.n_m
        positions = weight.reshape(rows, cols // m, m).abs().topk(n, dim=-1).indices.sort(dim=-1).values
        stored = {"positions": pack_bits(positions, math.ceil(math.log2(m)))}

        def pick(t: Tensor) -> Tensor:
            return t.reshape(rows, cols // m, m).gather(-1, positions).reshape(rows, -1)
    else:
        mask = weight != 0
        stored = _sparse_index(mask, fmt)

        def pick(t: Tensor) -> Tensor:
            return t[mask]
    if bits:  # the kept values as codes on the group grids of the whole weight
        grid = _quantized(weight, bits, params.group_size, params.symmetric)
        stored.update(values=pack_bits(pick(grid["codes"]), bits), scales=grid["scales"],
                      zeros=pack_bits(grid["zeros"], bits))
    else:
        stored["values"] = pick(weight).half()
    return stored


def write_model_files(module: nn.Module, params: Any, folder: Path) -> tuple[Path, Path]:
    """(compressed layers file, every other parameter's file): `params.storage` picks each targeted layer's
    format (dense fp16 for the dense parent: `params` None)."""
    layers = target_layers(module)
    packed = {}
    for name, layer in layers.items():
        fmt = params.storage(layer.weight)[0] if params is not None else "dense fp16"
        packed.update({f"{name}.{part}": t.contiguous() for part, t in pack_weight(layer.weight, fmt, params).items()})
    targeted = {id(layer.weight) for layer in layers.values()}
    rest = {name: p.detach().cpu().half().contiguous() for name, p in module.named_parameters()
            if id(p) not in targeted}  # named_parameters lists a tied parameter once
    layers_path, rest_path = folder / "layers.safetensors", folder / "rest.safetensors"
    save_file(packed, str(layers_path))
    save_file(rest, str(rest_path))
    return layers_path, rest_path


def measured_file_bytes(module: nn.Module, params: Any) -> tuple[int, int]:
    """(compressed layers' bytes, whole model's bytes), as written to disk in a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="bench-model-file-") as folder:
        layers_path, rest_path = write_model_files(module, params, Path(folder))
        layers = layers_path.stat().st_size
        return layers, layers + rest_path.stat().st_size
