"""The calibration table and the llm-compressor cross-check (benchmarks/), on tiny models."""

from __future__ import annotations

import json

import click
import pytest
import torch
from click.testing import CliRunner

from bench import BenchError
from bench.assets import load_model, resolve_model
from benchmarks import bench_calibration, bench_crosscheck


def test_requests_cover_every_setting_source_and_size_once_and_rtn_once():
    requests = bench_calibration.requests_for(["gptq", "rtn"], ["news"], ["16x512", "128x64"], tasks=["wiki_ppl"])
    gptq = [(r.method_params.get("act_order", False), r.calib_samples, r.calib_seqlen) for r in requests
            if r.method == "gptq"]
    assert sorted(gptq) == [(False, 16, 512), (False, 128, 64), (True, 16, 512), (True, 128, 64)]
    (rtn,) = [r for r in requests if r.method == "rtn"]
    assert rtn.calib_samples is None and rtn.calib_seqlen is None


def test_sizes_must_read_samples_x_seqlen():
    assert bench_calibration.parse_size("128x512") == (128, 512)
    with pytest.raises(click.BadParameter, match="SAMPLESxSEQLEN"):
        bench_calibration.parse_size("128-512")


def test_calibration_table_writes_result_files_and_reads_the_table_back_from_them(tiny_llama_dir, tmp_path):
    out = tmp_path / "results"
    result = CliRunner().invoke(bench_calibration.main, [
        "--model", str(tiny_llama_dir), "--methods", "wanda", "--sources", "news", "--sizes", "2x32",
        "--limit", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p for p in out.rglob("*.json") if not p.name.endswith(".items.json") and ".seeds" not in p.parts)
    wanda = [json.loads(f.read_text()) for f in files if f.parent.parent.name.startswith("wanda")]
    assert {r["task"]["name"] for r in wanda} == set(bench_calibration.TASKS)
    assert all((r["calibration"]["samples"], r["calibration"]["seqlen"]) == (2, 32) for r in wanda)
    wiki = next(r for r in wanda if r["task"]["name"] == "wiki_ppl")
    row = next(line for line in result.output.splitlines() if line.lstrip().startswith("wanda"))
    assert "2x32" in row and f"{wiki['main_score']:.4g}" in row  # the table shows the score in the file
    assert f"{wiki['spread']['std']:.4g}" in row and "wiki_ppl ±" in result.output  # and its spread over the seeds
    assert any(line.lstrip().startswith("dense") for line in result.output.splitlines())


def test_differing_share_counts_weights_that_are_not_equal():
    ours = {"a.weight": torch.zeros(2, 4), "b.weight": torch.ones(2, 2)}
    theirs = {"a.weight": torch.zeros(2, 4), "b.weight": torch.tensor([[1.0, 0.0], [1.0, 1.0]])}
    assert bench_crosscheck.differing_share(ours, theirs) == pytest.approx(1 / 12)
    with pytest.raises(BenchError, match="different layers"):
        bench_crosscheck.differing_share(ours, {"a.weight": torch.zeros(2, 4)})


def test_reference_weights_replace_the_compressed_layers_and_unknown_names_are_refused(tiny_llama_dir):
    model = load_model(resolve_model(str(tiny_llama_dir)), torch.float32, "cpu")
    weights = {name: torch.full_like(w, 0.5) for name, w in bench_crosscheck.compressed_weights(model).items()}
    bench_crosscheck.load_weights(model, weights)
    assert bench_crosscheck.differing_share(bench_crosscheck.compressed_weights(model), weights) == 0
    with pytest.raises(BenchError, match="does not have"):
        bench_crosscheck.load_weights(model, {"model.nowhere.weight": torch.zeros(1)})


def test_every_variant_asks_both_implementations_for_the_same_grid():
    for variant in bench_crosscheck.VARIANTS:
        args = dict(zip(variant.reference_args[::2], variant.reference_args[1::2]))
        for param, flag in (("bits", "--bits"), ("group_size", "--group-size"), ("sparsity", "--sparsity")):
            assert str(variant.params.get(param)) == args.get(flag, "None"), (variant.label, param)
        expected = ("static" if variant.params.get("static_groups") else "group") if variant.params.get("act_order") \
            else None
        assert args.get("--actorder") == expected, variant.label


def test_crosscheck_without_its_virtualenv_says_how_to_build_it(tmp_path):
    result = CliRunner().invoke(bench_crosscheck.main, ["--python", str(tmp_path / "missing" / "python")])
    assert result.exit_code != 0 and "make bench" in result.output
