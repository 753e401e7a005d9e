"""Calibration inputs: random token windows of a calibration source's text, hashed so results name them."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from bench import BenchError
from bench.assets import LoadedModel
from bench.methods.calib_sources import Documents, check_source, slug_part
from bench.schema import Calibration

CHARS_PER_TOKEN_ASKED = 8  # a hub dataset is read until its text holds about twice the tokens asked for


@dataclass(frozen=True)
class CalibrationConfig:
    samples: int
    seqlen: int
    seed: int
    source: str = "news"  # a name in bench.methods.calib_sources, or a hub dataset


@dataclass
class CalibrationSet:
    batches: list[Tensor]  # token ids, each (batch, seqlen)
    record: Calibration
    forward: Callable[[Tensor], object]  # runs the model on one batch


def calibration_suffix(config: CalibrationConfig, default_source: str, sized: bool, seed_label: str = "") -> str:
    """What a method slug adds for a calibration that is not the profile's default (nothing for it):
    `-calib16x512-seed0` for another size or seed (`sized`; `seed_label` names several seeds, e.g.
    `seeds0-1-2`), `-calib-wiki` for another source, both as `-calib-wiki-16x512-seed0`."""
    source = "" if config.source == default_source else f"-{slug_part(config.source)}"
    size = f"{config.samples}x{config.seqlen}-{seed_label or f'seed{config.seed}'}" if sized else ""
    if not (source or size):
        return ""
    return f"-calib{source}{'-' if source and size else ''}{size}"


def max_positions(model: LoadedModel) -> int:
    if model.info.kind == "encoder":
        return int(model.module.max_seq_length)
    return int(model.module.config.max_position_embeddings)


def calibration_tokens(tokenizer: Any, documents: Documents) -> Tensor:
    """A text as one stream of token ids, no special tokens; each document once (the news corpus
    repeats a few), so positions in the stream count distinct text."""
    docs = [f"{doc}\n\n" for doc in dict.fromkeys(documents)]
    encoded = tokenizer(docs, add_special_tokens=False, verbose=False)["input_ids"]
    return torch.tensor([token for doc_ids in encoded for token in doc_ids])


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def build_calibration(model: LoadedModel, config: CalibrationConfig, batch_size: int, device: str,
                      warn: Callable[[str], None] = _warn) -> CalibrationSet:
    """`samples` windows of `seqlen` tokens drawn at random from the source's text, as the Wanda and
    SparseGPT references draw them from C4; capped at the model's context length. A mix of sources
    gives each an equal share of the windows (the remainder to sources the seed picks).

    Windows do not overlap while the text holds enough tokens; beyond that they repeat it, `warn`
    says so, and the record counts the distinct text tokens used. An encoder's windows are framed
    by its tokenizer's special tokens ([CLS] text [SEP]), as its real inputs are."""
    seqlen = min(config.seqlen, max_positions(model))
    frame = _special_token_frame(model)
    text_len = seqlen - frame.n_added
    source = check_source(config.source)
    parts = source.parts(config.samples * text_len * CHARS_PER_TOKEN_ASKED, config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    windows, unique_tokens = [], 0
    for part, count in zip(parts, equal_shares(config.samples, len(parts), generator)):
        if count == 0:  # fewer windows than sources in a mix
            continue
        ids = calibration_tokens(model.tokenizer, part.documents)
        if len(ids) < text_len:
            raise BenchError(f"calibration text {part.name!r} has {len(ids)} tokens, fewer than the {text_len} "
                             f"text tokens of one window (--calib-seqlen {seqlen})")
        starts = spread_starts(len(ids), text_len, count, generator)
        if count * text_len > len(ids):
            warn(f"calibration asks for {count} x {text_len} text tokens but {part.name!r} has {len(ids)}: "
                 "windows repeat its text")
        windows += [frame.wrap(ids[s : s + text_len]) for s in starts.tolist()]
        unique_tokens += covered_positions(starts, text_len, len(ids))
    if len(parts) > 1:  # batches mix the sources
        windows = [windows[i] for i in torch.randperm(len(windows), generator=generator).tolist()]
    stacked = torch.stack(windows)
    record = Calibration(source=source.describe(), samples=config.samples, seqlen=seqlen, seed=config.seed,
                         data_hash=hashlib.sha256(stacked.numpy().tobytes()).hexdigest(),
                         unique_tokens=unique_tokens)
    batches = [b.to(device) for b in stacked.split(batch_size)]
    return CalibrationSet(batches=batches, record=record, forward=_forward_fn(model))


def equal_shares(samples: int, n_parts: int, generator: torch.Generator) -> list[int]:
    """`samples` split as evenly as possible; the seed picks which parts take one more."""
    shares = [samples // n_parts] * n_parts
    if n_parts > 1:  # one part draws nothing here, so a single source's windows stay as they were
        for i in torch.randperm(n_parts, generator=generator)[: samples % n_parts].tolist():
            shares[i] += 1
    return shares


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
