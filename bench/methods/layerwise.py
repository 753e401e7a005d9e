"""Find a model's repeated blocks and run calibration through them one block at a time.

As in the Wanda and SparseGPT references, each block sees the outputs of the already
compressed blocks before it, and only one block's activations are held at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from bench import BenchError
from bench.methods.calibration import CalibrationSet
from bench.methods.llm.obs import accumulate_hessian
from bench.methods.llm.sparsity import accumulate_sq_norms

BlockVisitor = Callable[[int, nn.Module, dict[str, Tensor]], None]  # block index, block, statistics


@dataclass(frozen=True)
class InputStatistic:
    """What a method gathers from each Linear layer's inputs: a starting tensor and an update."""

    init: Callable[[nn.Linear], Tensor]
    accumulate: Callable[[Tensor, Tensor], None]


# Accumulated in float64, window by window: the calibration batch size cannot change a result.
SQUARED_NORMS = InputStatistic(  # Wanda
    init=lambda layer: torch.zeros(layer.in_features, dtype=torch.float64, device=layer.weight.device),
    accumulate=accumulate_sq_norms,
)
HESSIAN = InputStatistic(  # SparseGPT, GPTQ
    init=lambda layer: torch.zeros(layer.in_features, layer.in_features, dtype=torch.float64,
                                   device=layer.weight.device),
    accumulate=accumulate_hessian,
)


def find_blocks(model: nn.Module) -> nn.ModuleList:
    """The repeated blocks (decoder or encoder layers): of the ModuleLists of same-class modules, the
    one holding the most Linear layers, so a list of experts inside each block never wins."""
    candidates = [m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) > 1
                  and len({type(child) for child in m}) == 1 and linear_layers(m[0])]
    if not candidates:
        raise BenchError(f"{type(model).__name__} has no repeated blocks of Linear layers to compress")
    return max(candidates, key=lambda blocks: len(linear_layers(blocks)))


def linear_layers(module: nn.Module) -> dict[str, nn.Linear]:
    return {name: m for name, m in module.named_modules() if isinstance(m, nn.Linear)}


def target_layers(model: nn.Module) -> dict[str, nn.Linear]:
    """Every Linear inside the repeated blocks: the output head and poolers stay dense."""
    inside = {id(m) for m in find_blocks(model).modules()}
    return {name: m for name, m in linear_layers(model).items() if id(m) in inside}


class _Captured(Exception):
    pass


Call = tuple[tuple, dict]  # a block's positional and keyword arguments, hidden states left out


def _capture_block_calls(blocks: nn.ModuleList, calib: CalibrationSet) -> tuple[list[Tensor], list[list[Call]]]:
    """Block 0's input hidden states per batch, and every block's own other arguments per batch.

    Layers of one model may take different arguments (sliding-window vs full attention masks,
    per-layer position embeddings), so each block's are recorded from a model forward in which
    every block passes its input through unchanged: the model computes what it would give each
    block, at the cost of no block computation. A block's real forward runs once, to learn how it
    wraps its output; the last block stops the pass before the output head."""
    hidden: list[Tensor] = []
    calls: list[list[Call]] = [[] for _ in blocks]
    wrappers: dict[int, Callable[[Tensor], object]] = {}

    def passthrough(index: int, real_forward: Callable[..., object]) -> Callable[..., object]:
        def forward(*args, **kwargs):
            hidden_in = _hidden_in(args, kwargs)
            if index == 0:
                hidden.append(hidden_in)
            calls[index].append(_with_hidden(args, kwargs, None))
            if index == len(blocks) - 1:
                raise _Captured
            if index not in wrappers:
                wrappers[index] = _output_like(real_forward(*args, **kwargs))
            return wrappers[index](hidden_in)
        return forward

    own_forwards = [block.__dict__.get("forward") for block in blocks]  # e.g. accelerate's wrapper
    for index, block in enumerate(blocks):
        block.forward = passthrough(index, block.forward)
    try:
        for batch in calib.batches:
            try:
                calib.forward(batch)
            except _Captured:
                pass
    finally:
        for block, own in zip(blocks, own_forwards):
            if own is None:
                del block.forward
            else:
                block.forward = own
    return hidden, calls


def _hidden_in(args: tuple, kwargs: dict) -> Tensor:
    return args[0] if args else kwargs["hidden_states"]


def _hidden(output: object) -> Tensor:
    return output[0] if isinstance(output, (tuple, list)) else output


def _output_like(output: object) -> Callable[[Tensor], object]:
    """Builds a block output of the same shape as `output` around other hidden states."""
    if isinstance(output, (tuple, list)):
        return lambda hidden: (hidden, *output[1:])
    return lambda hidden: hidden


def _with_hidden(args: tuple, kwargs: dict, hidden: Tensor | None) -> Call:
    if args:
        return (hidden, *args[1:]), kwargs
    return args, {**kwargs, "hidden_states": hidden}


@torch.no_grad()
def compress_layerwise(model: nn.Module, calib: CalibrationSet, statistic: InputStatistic,
                       visit: BlockVisitor) -> None:
    """For each block: gather `statistic` over the inputs of its Linear layers, let `visit`
    compress the block, then recompute the block's outputs to feed the next block."""
    blocks = find_blocks(model)
    hidden, calls = _capture_block_calls(blocks, calib)
    for index, block in enumerate(tqdm(blocks, desc="calibrating blocks", leave=False)):
        inputs = [_with_hidden(args, kwargs, h) for (args, kwargs), h in zip(calls[index], hidden)]
        layers = linear_layers(block)
        stats = {name: statistic.init(layer) for name, layer in layers.items()}
        handles = [layer.register_forward_hook(lambda _m, inp, _out, s=stats[name]: statistic.accumulate(s, inp[0]))
                   for name, layer in layers.items()]
        try:
            for args, kwargs in inputs:
                block(*args, **kwargs)
        finally:
            for handle in handles:
                handle.remove()
        visit(index, block, stats)
        hidden = [_hidden(block(*args, **kwargs)) for args, kwargs in inputs]
