"""Calibration inputs: random token windows of offline text, hashed so results name them."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from bench import BenchError, corpora
from bench.assets import LoadedModel
from bench.schema import Calibration

SOURCE = "gensim:lee_background.cor"  # disjoint from the Wikipedia text the tasks score


@dataclass(frozen=True)
class CalibrationConfig:
    samples: int
    seqlen: int
    seed: int


@dataclass
class CalibrationSet:
    batches: list[Tensor]  # token ids, each (batch, seqlen)
    record: Calibration
    forward: Callable[[Tensor], object]  # runs the model on one batch


def max_positions(model: LoadedModel) -> int:
    if model.info.kind == "encoder":
        return int(model.module.max_seq_length)
    return int(model.module.config.max_position_embeddings)


def calibration_tokens(tokenizer: Any) -> Tensor:
    """The calibration text as one stream of token ids, no special tokens; each document once (the
    corpus repeats a few), so positions in the stream count distinct text."""
    docs = [f"{doc}\n\n" for doc in dict.fromkeys(corpora.lee_background())]
    encoded = tokenizer(docs, add_special_tokens=False, verbose=False)["input_ids"]
    return torch.tensor([token for doc_ids in encoded for token in doc_ids])


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def build_calibration(model: LoadedModel, config: CalibrationConfig, batch_size: int, device: str,
                      warn: Callable[[str], None] = _warn) -> CalibrationSet:
    """`samples` windows of `seqlen` tokens drawn at random from the calibration text, as the
    Wanda and SparseGPT references draw them from C4; capped at the model's context length.

    Windows do not overlap while the text holds enough tokens; beyond that they repeat it, `warn`
    says so, and the record counts the distinct text tokens used. An encoder's windows are framed
    by its tokenizer's special tokens ([CLS] text [SEP]), as its real inputs are."""
    seqlen = min(config.seqlen, max_positions(model))
    frame = _special_token_frame(model)
    text_len = seqlen - frame.n_added
    ids = calibration_tokens(model.tokenizer)
    if len(ids) <= text_len:
        raise BenchError(f"calibration text has {len(ids)} tokens, fewer than --calib-seqlen {seqlen}")
    generator = torch.Generator().manual_seed(config.seed)
    starts = spread_starts(len(ids), text_len, config.samples, generator)
    if config.samples * text_len > len(ids):
        warn(f"calibration asks for {config.samples} x {text_len} text tokens but {SOURCE} has {len(ids)}: "
             "windows repeat its text")
    windows = torch.stack([frame.wrap(ids[s : s + text_len]) for s in starts.tolist()])
    record = Calibration(source=SOURCE, samples=config.samples, seqlen=seqlen, seed=config.seed,
                         data_hash=hashlib.sha256(windows.numpy().tobytes()).hexdigest(),
                         unique_tokens=covered_positions(starts, text_len, len(ids)))
    batches = [b.to(device) for b in windows.split(batch_size)]
    return CalibrationSet(batches=batches, record=record, forward=_forward_fn(model))


def spread_starts(n_tokens: int, length: int, count: int, generator: torch.Generator) -> Tensor:
    """`count` random window starts in a text of `n_tokens`, in passes of windows that never overlap
    one another: a pass places as many as fit, each at a random gap after the one before."""
    per_pass = n_tokens // length
    passes = []
    for remaining in range(count, 0, -per_pass):
        k = min(per_pass, remaining)
        gaps = torch.randint(0, n_tokens - k * length + 1, (k,), generator=generator).sort().values
        passes.append(gaps + torch.arange(k) * length)
    starts = torch.cat(passes)
    return starts[torch.randperm(count, generator=generator)]  # batches mix the whole text


def covered_positions(starts: Tensor, length: int, n_tokens: int) -> int:
    """How many distinct positions of the text the windows cover."""
    covered = torch.zeros(n_tokens, dtype=torch.bool)
    for start in starts.tolist():
        covered[start : start + length] = True
    return int(covered.sum())


@dataclass(frozen=True)
class _Frame:
    """The special tokens a tokenizer puts around one text ([CLS] ... [SEP] for BERT)."""

    prefix: tuple[int, ...] = ()
    suffix: tuple[int, ...] = ()

    @property
    def n_added(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def wrap(self, ids: Tensor) -> Tensor:
        return torch.cat([torch.tensor(self.prefix, dtype=ids.dtype), ids, torch.tensor(self.suffix, dtype=ids.dtype)])


def _special_token_frame(model: LoadedModel) -> _Frame:
    if model.info.kind != "encoder":  # decoder windows are raw text, as in the references
        return _Frame()
    probe = "calibration text"  # the tokenizer's own framing of a text, read off around it
    framed = model.tokenizer(probe, add_special_tokens=True)["input_ids"]
    bare = model.tokenizer(probe, add_special_tokens=False)["input_ids"]
    start = next((i for i in range(len(framed)) if framed[i : i + len(bare)] == bare), None)
    if start is None:
        raise BenchError(f"cannot tell the special tokens {type(model.tokenizer).__name__} adds around a text")
    return _Frame(tuple(framed[:start]), tuple(framed[start + len(bare):]))


def _forward_fn(model: LoadedModel) -> Callable[[Tensor], object]:
    module = model.module
    if model.info.kind == "encoder":  # a SentenceTransformer takes a features dict
        return lambda ids: module({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
    return lambda ids: module(input_ids=ids, use_cache=False)
