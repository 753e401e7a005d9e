"""Calibration windows: drawn without overlap while the text allows, repeats counted and warned
about, encoder windows framed by the tokenizer's special tokens.

The text is swapped for a stream of distinct token ids, so a window's first id is where it starts."""

import pytest
import torch

from bench import corpora
from bench.assets import load_model, resolve_model
from bench.methods import calibration
from bench.methods.calibration import CalibrationConfig, build_calibration


@pytest.fixture(scope="module")
def tiny_llama(tiny_llama_dir):
    return load_model(resolve_model(str(tiny_llama_dir)), torch.float32, "cpu")


@pytest.fixture(scope="module")
def tiny_encoder(tiny_encoder_dir):
    return load_model(resolve_model(str(tiny_encoder_dir)), torch.float32, "cpu")


def distinct_text(monkeypatch, n_tokens: int, first_id: int = 1000) -> None:
    text = torch.arange(first_id, first_id + n_tokens)
    monkeypatch.setattr(calibration, "calibration_tokens", lambda _tokenizer, _documents: text)


def runs_of_text(windows: torch.Tensor) -> list[int]:
    """Each window's start, checking that it is one contiguous run of the text."""
    assert (windows.diff(dim=1) == 1).all()
    return windows[:, 0].tolist()


def test_windows_do_not_overlap_while_the_text_holds_them(tiny_llama, monkeypatch):
    distinct_text(monkeypatch, 4000)
    warned = []
    samples, seqlen = 15, 256  # 3840 of 4000 tokens: random starts would overlap
    calib = build_calibration(tiny_llama, CalibrationConfig(samples, seqlen, seed=3), 4, "cpu", warn=warned.append)
    starts = sorted(runs_of_text(torch.cat(calib.batches)))
    assert len(starts) == samples and not warned
    assert all(b - a >= seqlen for a, b in zip(starts, starts[1:]))
    assert calib.record.unique_tokens == samples * seqlen


def test_asking_for_more_tokens_than_the_text_holds_warns_and_counts_unique_ones(tiny_llama, monkeypatch):
    distinct_text(monkeypatch, 1000)
    with pytest.warns(UserWarning, match="windows repeat"):
        calib = build_calibration(tiny_llama, CalibrationConfig(samples=40, seqlen=64, seed=0), 8, "cpu")
    windows = torch.cat(calib.batches)
    runs_of_text(windows)
    assert calib.record.unique_tokens == len(set(windows.flatten().tolist()))
    assert (1000 // 64) * 64 <= calib.record.unique_tokens <= 1000 < 40 * 64


def test_encoder_windows_are_framed_by_cls_and_sep(tiny_encoder, monkeypatch):
    distinct_text(monkeypatch, 1000)
    tokenizer = tiny_encoder.tokenizer
    calib = build_calibration(tiny_encoder, CalibrationConfig(samples=3, seqlen=16, seed=0), 2, "cpu")
    windows = torch.cat(calib.batches)
    assert windows.shape == (3, 16) and calib.record.seqlen == 16
    assert (windows[:, 0] == tokenizer.cls_token_id).all() and (windows[:, -1] == tokenizer.sep_token_id).all()
    runs_of_text(windows[:, 1:-1])
    assert calib.record.unique_tokens == 3 * 14


def test_the_calibration_text_holds_each_document_once(tiny_llama):
    """gensim's Lee corpus repeats a few articles verbatim: counted once, as unique tokens claim."""
    docs = corpora.lee_background()
    once = calibration.calibration_tokens(tiny_llama.tokenizer, docs)
    assert len(set(docs)) < len(docs)
    every = tiny_llama.tokenizer([f"{d}\n\n" for d in docs], add_special_tokens=False)["input_ids"]
    assert len(once) < sum(map(len, every))
