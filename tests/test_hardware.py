"""Profiles as data, the machine check, and what every result measures (speed, size, memory), on tiny models."""

import math

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open

from bench import BenchError
from bench.cli import cli
from bench.methods.base import make_method
from bench.methods.facts import measure_facts
from bench.model_file import write_model_files
from bench.profiles import PROFILES, load_profile
from bench.run_config import ProfileConfig
from bench.runner import RunRequest, run

TINY = dict(calib_samples=2, calib_seqlen=32, limit=2, seed=0)


def test_every_profile_round_trips_through_yaml_and_cpu_2c_keeps_what_its_hashes_depend_on():
    assert {"cpu-2c", "cpu-16c", "a100-80g", "h100-80g", "h200-141g", "l4-24g", "rtx4090-24g",
            "apple-m"} <= set(PROFILES)
    for _, profile in PROFILES.items():
        assert load_profile(profile.to_yaml()) == profile
    cpu = PROFILES.get("cpu-2c")
    # what enters every existing result's config hash, and the calibration defaults, as before profiles were files
    assert ProfileConfig(device=cpu.device, dtype=cpu.dtype, batch_size=cpu.batch_size,
                         embed_batch_size=cpu.embed_batch_size) == ProfileConfig(
        device="cpu", dtype="float32", batch_size=4, embed_batch_size=32)
    assert (cpu.calib_samples, cpu.calib_seqlen, cpu.calib_source, cpu.calib_seeds, cpu.method_defaults) == (
        16, 512, "news", [0, 1, 2], {"gptq": {"act_order": True}})
    assert PROFILES.get("apple-m").device == "mps" and cpu.threads.torch == 2


def test_profile_show_prints_yaml_and_an_unknown_name_gets_suggestions():
    shown = CliRunner().invoke(cli, ["profile", "show", "l4-24g"])
    assert shown.exit_code == 0 and load_profile(shown.output) == PROFILES.get("l4-24g")
    wrong = CliRunner().invoke(cli, ["profile", "show", "cpu2c"])
    assert wrong.exit_code == 2 and "did you mean 'cpu-2c'" in wrong.output and len(wrong.output.splitlines()) == 1


def test_profile_detect_names_the_machine_and_a_profile():
    result = CliRunner().invoke(cli, ["profile", "detect"])
    assert result.exit_code == 0 and "cores" in result.output and "closest profile: " in result.output


def test_each_difference_that_changes_timings_is_named_and_the_closest_profile_matches():
    from bench.hardware import Hardware
    from bench.machine import closest_profile, mismatches

    l4 = Hardware(machine="x86_64", cpu="AMD EPYC", cpu_count=16, torch_threads=16, gpu="NVIDIA L4",
                  gpu_memory_gb=22.0, ram_gb=64.0)
    assert mismatches(PROFILES.get("h100-80g"), l4) == [
        "GPU 'NVIDIA L4', the profile expects one matching 'H100'", "22 GB of GPU memory, the profile expects 80"]
    assert mismatches(PROFILES.get("l4-24g"), l4) == [] and closest_profile(l4).name == "l4-24g"
    big_cpu = l4.model_copy(update={"gpu": None, "gpu_memory_gb": None})
    assert closest_profile(big_cpu).name == "cpu-16c"  # the most demanding CPU profile it fully meets
    assert closest_profile(big_cpu.model_copy(update={"cpu_count": 4, "ram_gb": 16.0})).name == "cpu-2c"


def _one_core(monkeypatch):
    import bench.runner

    seen = bench.runner.hardware_seen()
    monkeypatch.setattr(bench.runner, "hardware_seen", lambda: seen.model_copy(update={"cpu_count": 1}))


def test_a_machine_that_does_not_match_the_profile_exits_2_in_one_line(monkeypatch, tmp_path):
    _one_core(monkeypatch)
    result = CliRunner().invoke(cli, ["run", "--method", "magnitude", "--tasks", "wiki_ppl", "--out", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.splitlines()) == 1
    assert "1 CPU cores, the profile expects at least 2" in result.output and "--force-hardware" in result.output
    assert not list(tmp_path.rglob("*.json"))


def test_a_gpu_profile_without_a_gpu_stays_an_error_even_forced(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without a GPU")
    with pytest.raises(BenchError, match="needs a CUDA device"):
        run(RunRequest(method="dense", tasks=["wiki_ppl"], profile="h100-80g", force_hardware=True, out=tmp_path))


@pytest.fixture(scope="module")
def forced_rtn8(tiny_llama_dir, tmp_path_factory):
    """An 8-bit RTN run of the tiny Llama, forced on a machine seen with one core."""
    import bench.measure
    import bench.runner

    out = tmp_path_factory.mktemp("forced")
    with pytest.MonkeyPatch.context() as patch:
        _one_core(patch)
        patch.setattr(bench.measure, "_DENSE", {})  # the parent is timed in this run, not by an earlier test
        patch.setattr(bench.measure, "load_average", lambda: 0.5)  # a quiet machine, whatever runs beside the tests
        pairs = run(RunRequest(method="rtn", method_params={"bits": 8}, model=str(tiny_llama_dir), tasks=["wiki_ppl"],
                               out=out, force_hardware=True, **TINY), log=lambda _line: None)
    assert bench.runner.hardware_seen().cpu_count != 1  # the patch is gone
    pairs[0].out = out
    return pairs[0]


def test_a_forced_run_records_the_expectation_the_machine_and_the_flag(forced_rtn8):
    for result in (forced_rtn8.dense, forced_rtn8.compressed):
        check = result.machine_check
        assert check.forced and check.expected.cpu_cores == 2 and check.mismatches == [
            "1 CPU cores, the profile expects at least 2"]
        assert result.hardware.cpu_count == 1 and result.hardware.ram_gb > 0


def test_the_site_marks_a_forced_result_and_shows_what_was_measured(forced_rtn8, tmp_path):
    from bench.site.build import build

    index, _table = build(forced_rtn8.out, tmp_path)
    page = index.read_text()
    assert ">forced<" in page and "measured speed-up" in page and "decode tok/s" in page
    pareto = (tmp_path / "pareto-cpu-2c.html").read_text()
    assert "pareto-cpu-2c.speed.vl.json" in pareto  # the second chart: retained % against the measured speed-up


def test_every_result_measures_speed_size_and_memory_with_their_spread(forced_rtn8):
    dense, rtn = forced_rtn8.dense.measurements, forced_rtn8.compressed.measurements
    assert dense.kernel == "nominal" and rtn.kernel == "int8_dynamic_cpu"  # cpu-2c has the int8 kernel
    assert dense.workload.batch_size == 4 and dense.workload.prompt_tokens == 128 and dense.workload.new_tokens == 8
    for m in (dense, rtn):
        for rate in (m.speeds.prefill_tokens_per_s, m.speeds.decode_tokens_per_s):
            assert 0 < rate.low <= rate.median <= rate.high and rate.repeats == 3 and math.isfinite(rate.high)
        assert m.speeds.documents_per_s is None and m.peak_memory_bytes > 10 * 2**20 and m.peak_memory_source == "rss"
        assert 0 < m.decode_speedup.low <= m.decode_speedup.median <= m.decode_speedup.high
        assert m.layers_file_bytes < m.model_file_bytes and not m.over_budget
    assert rtn.dense_speeds == dense.speeds  # the parent timed once in this process, paired with both
    assert dense.decode_speedup.median == 1 and dense.memory_ratio == 1
    assert rtn.memory_ratio < 1  # int8 weights in memory
    assert rtn.layers_file_bytes < 0.7 * dense.layers_file_bytes  # int8 + scales against fp16 (tiny: headers weigh)
    assert dense.seconds > 0.05  # timing the parent is counted where it happened
    assert dense.load_average == rtn.load_average == 0.5


def test_a_result_timed_on_a_busy_machine_is_marked_busy_on_the_site(forced_rtn8, tmp_path):
    import shutil

    from bench.schema import save_result
    from bench.measurements import busy
    from bench.site.build import build

    out = tmp_path / "submissions"
    shutil.copytree(forced_rtn8.out, out)
    result = forced_rtn8.compressed
    loaded = result.model_copy(update={"measurements": result.measurements.model_copy(update={"load_average": 2.5})})
    assert busy(loaded.measurements, cpu_count=1) and not busy(loaded.measurements, cpu_count=2)
    assert not busy(None, cpu_count=1) and not busy(result.measurements, cpu_count=None)
    path = next(out.rglob(f"{result.method.slug}/cpu-2c/wiki_ppl.json"))
    save_result(loaded, path)
    index, _table = build(out, tmp_path / "site")
    task_page = (tmp_path / "site" / "task-wiki_ppl.html").read_text()
    for page in (index.read_text(), task_page):  # the variants' index and the per-result tables
        assert ">busy<" in page and ">forced<" in page and ">True<" not in page


@pytest.mark.parametrize("method, params", [("magnitude", {"sparsity": 0.7}), ("magnitude", {"pattern": "2:4"}),
                                            ("rtn", {"bits": 4}), ("sparsegpt", {"sparsity": 0.5, "bits": 4}),
                                            ("lowrank", {})])
def test_the_model_file_holds_each_format_and_its_size_is_measured_from_disk(method, params, tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    from bench.assets import LoadedModel
    from bench.schema import ModelInfo

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True)
    module = LlamaForCausalLM(config)
    compressor = make_method(method, params)
    model = LoadedModel(info=ModelInfo(name="t/t", source="t", kind="causal-lm", n_params=1), module=module,
                        tokenizer=None)
    # a calibrated method's format is measured on the random weights as they are (no calibration needed)
    facts = measure_facts(model, compressor.params.storage) if compressor.needs_calibration else \
        compressor.compress(model, None)
    layers_path, rest_path = write_model_files(module, compressor.params, tmp_path)
    with safe_open(str(layers_path), "pt") as f:
        payload = sum(f.get_tensor(k).nelement() * f.get_tensor(k).element_size() for k in f.keys())
    header = int.from_bytes(layers_path.read_bytes()[:8], "little")
    assert layers_path.stat().st_size == 8 + header + payload  # every byte of the file is header or tensors
    # the packed tensors are the format bench.methods.storage counts, within its rounding per layer
    assert abs(payload - facts.storage_bytes) <= 8 * facts.target_layers + 4 * module.config.intermediate_size * 7
    assert rest_path.stat().st_size > 2 * module.model.embed_tokens.weight.numel()  # fp16, tied head once


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 8])
def test_packed_codes_are_their_bits_in_order_padded_with_zeros(bits):
    from bench.model_file import pack_bits

    codes = torch.randint(0, 2**bits, (7, 5), generator=torch.Generator().manual_seed(bits))
    stream = "".join(format(int(c), f"0{bits}b") for c in codes.reshape(-1))
    stream += "0" * (-len(stream) % 8)
    expected = [int(stream[i:i + 8], 2) for i in range(0, len(stream), 8)]
    assert pack_bits(codes, bits).tolist() == expected


def test_a_measured_result_validates_and_a_speedup_that_its_speeds_do_not_give_is_caught(forced_rtn8):
    from bench.measurement_checks import measurement_problems

    result = forced_rtn8.compressed
    assert measurement_problems(result) == []
    m = result.measurements
    tampered = result.model_copy(update={"measurements": m.model_copy(update={
        "decode_speedup": m.decode_speedup.model_copy(update={"median": 3 * m.decode_speedup.median})})})
    assert [field for field, _ in measurement_problems(tampered)] == ["measurements.decode_speedup"]


def test_an_encoder_measures_documents_per_second_and_faiss_query_latency(tiny_encoder_dir, tmp_path):
    pairs = run(RunRequest(method="magnitude", method_params={"sparsity": 0.5}, model=str(tiny_encoder_dir),
                           tasks=["wiki_retrieval"], out=tmp_path, limit=3, embed="int8,binary,pq:4"),
                log=lambda _line: None)
    kernels = {p.compressed.vectors.codec: p.compressed.vectors.search_kernel for p in pairs}
    assert kernels["int8"] == "faiss_int8" and kernels["binary"] == "faiss_binary"
    assert kernels["float"] == "faiss_flat" and [k for c, k in kernels.items() if c.startswith("pq")] == ["nominal"]
    for pair in pairs:
        vectors, m = pair.compressed.vectors, pair.compressed.measurements
        assert 0 < vectors.query_latency_ms_p50 <= vectors.query_latency_ms_p99
        assert m.kernel == "nominal" and m.speeds.documents_per_s.median > 0 and m.speeds.decode_tokens_per_s is None
        assert m.documents_speedup.low <= m.documents_speedup.median <= m.documents_speedup.high
