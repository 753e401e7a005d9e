"""Calibration inputs: random token windows of offline text, hashed so results name them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

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


def build_calibration(model: LoadedModel, config: CalibrationConfig, batch_size: int, device: str) -> CalibrationSet:
    """`samples` windows of `seqlen` tokens drawn at random from the calibration text, as the
    Wanda and SparseGPT references draw them from C4; capped at the model's context length."""
    seqlen = min(config.seqlen, max_positions(model))
    docs = [f"{doc}\n\n" for doc in corpora.lee_background()]
    encoded = model.tokenizer(docs, add_special_tokens=False, verbose=False)["input_ids"]
    ids = torch.tensor([token for doc_ids in encoded for token in doc_ids])
    if len(ids) <= seqlen:
        raise BenchError(f"calibration text has {len(ids)} tokens, fewer than --calib-seqlen {seqlen}")
    generator = torch.Generator().manual_seed(config.seed)
    starts = torch.randint(0, len(ids) - seqlen, (config.samples,), generator=generator)
    windows = torch.stack([ids[s : s + seqlen] for s in starts.tolist()])
    record = Calibration(source=SOURCE, samples=config.samples, seqlen=seqlen, seed=config.seed,
                         data_hash=hashlib.sha256(windows.numpy().tobytes()).hexdigest())
    batches = [b.to(device) for b in windows.split(batch_size)]
    return CalibrationSet(batches=batches, record=record, forward=_forward_fn(model))


def _forward_fn(model: LoadedModel) -> Callable[[Tensor], object]:
    module = model.module
    if model.info.kind == "encoder":  # a SentenceTransformer takes a features dict
        return lambda ids: module({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
    return lambda ids: module(input_ids=ids, use_cache=False)
