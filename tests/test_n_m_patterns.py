"""Every N:M pattern accepted is exact, for every pruning method; a pattern a model's layers cannot
split into whole groups of M is refused up front with one line."""

import copy
import dataclasses

import pytest
import torch
from click.testing import CliRunner

from bench import BenchError
from bench.assets import load_model, model_skeleton, resolve_model
from bench.cli import cli
from bench.methods.base import make_method
from bench.methods.calibration import CalibrationConfig, build_calibration
from bench.methods.layerwise import target_layers
from bench.methods.llm.obs import accumulate_hessian, obs_sweep
from bench.methods.llm.quant import QuantGrid

# The tiny Llama's layers take 32 (attention, gate/up) or 64 (down) inputs: M must divide 32.
FITTING = ["1:2", "2:4", "3:4", "4:8"]
MISFITTING = ["1:3", "2:5", "2:6"]
METHODS = {"random": {}, "magnitude": {}, "wanda": {}, "sparsegpt": {},
           "sparsegpt+bits": {"bits": 4, "group_size": 16}}


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir):
    """The tiny Llama loaded once with one calibration set; each test compresses its own copy."""
    ref = resolve_model(str(tiny_llama_dir))
    model = load_model(ref, torch.float32, "cpu")
    return ref, model, build_calibration(model, CalibrationConfig(4, 32, 0), 2, "cpu")


def compress_copy(tiny, method_label: str, pattern: str):
    _, model, calib = tiny
    model = copy.deepcopy(model)
    method = make_method(method_label.split("+")[0], {"pattern": pattern, **METHODS[method_label]})
    calib = dataclasses.replace(calib, forward=lambda ids: model.module(input_ids=ids, use_cache=False))
    return model, method.compress(model, calib if method.needs_calibration else None)


def zeros_per_group(weight: torch.Tensor, m: int) -> torch.Tensor:
    return (weight == 0).reshape(weight.shape[0], -1, m).sum(-1)


@pytest.mark.parametrize("pattern", FITTING)
@pytest.mark.parametrize("method_label", METHODS)
def test_a_fitting_pattern_prunes_exactly_m_minus_n_of_every_group(tiny, method_label, pattern):
    n, m = map(int, pattern.split(":"))
    model, facts = compress_copy(tiny, method_label, pattern)
    per_group = torch.cat([zeros_per_group(layer.weight, m).flatten() for layer in target_layers(model.module).values()])
    if "bits" in method_label:
        # A kept weight that rounds to 0 on its grid is a zero like any other: at least M - N per group,
        # and the measured sparsity exceeds 1 - N/M by those few rounded-away weights only.
        assert (per_group >= m - n).all()
        assert 1 - n / m <= facts.sparsity < 1 - n / m + 0.02
    else:
        assert (per_group == m - n).all()
        assert facts.sparsity == pytest.approx(1 - n / m, abs=1e-12)


@pytest.mark.parametrize("pattern", MISFITTING)
@pytest.mark.parametrize("method_label", METHODS)
def test_a_misfitting_pattern_is_refused_before_any_weight_changes(tiny, method_label, pattern):
    ref, model, calib = tiny
    method = make_method(method_label.split("+")[0], {"pattern": pattern, **METHODS[method_label]})
    m = pattern.split(":")[1]
    expected = f"groups every {m} inputs, but layer layers.0.self_attn.q_proj of {ref.name} has 32 inputs"
    with pytest.raises(BenchError, match=expected):
        method.check_layers(model_skeleton(ref), ref.name)
    before = {name: layer.weight.clone() for name, layer in target_layers(model.module).items()}
    with pytest.raises(BenchError, match=f"groups every {m} inputs"):
        method.compress(model, calib)
    assert all(torch.equal(layer.weight, before[name]) for name, layer in target_layers(model.module).items())


@pytest.mark.parametrize("method", ["random", "magnitude", "wanda", "sparsegpt"])
def test_cli_refuses_a_misfitting_pattern_with_one_line_before_loading_weights(tiny_llama_dir, tmp_path, monkeypatch,
                                                                                method):
    def no_loading(*_args, **_kwargs):
        raise RuntimeError("weights loaded before the pattern was checked")

    monkeypatch.setattr("bench.runner.load_model", no_loading)
    result = CliRunner().invoke(cli, ["run", "--method", method, "--pattern", "2:4,2:5", "--model", str(tiny_llama_dir),
                                      "--tasks", "wiki_ppl", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "groups every 5 inputs" in result.output and "has 32 inputs; for this model M must divide 32" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()  # the fitting 2:4 of the sweep did not run either


@pytest.fixture(scope="module")
def wide_layer():
    """A 16 x 384 layer: wider than SparseGPT's 128-column blocks, which 3 and 6 do not divide."""
    g = torch.Generator().manual_seed(0)
    hessian = torch.zeros(384, 384)
    accumulate_hessian(hessian, torch.randn(1024, 384, generator=g))
    return torch.randn(16, 384, generator=g), hessian


@pytest.mark.parametrize("n,m", [(1, 3), (2, 6), (4, 6), (2, 4)])
@pytest.mark.parametrize("block_size", [128, 8])
def test_obs_sweep_keeps_whole_groups_when_m_does_not_divide_its_block(wide_layer, n, m, block_size):
    weight, hessian = wide_layer
    pruned = obs_sweep(weight, hessian, n_m=(n, m), block_size=block_size)
    assert (zeros_per_group(pruned, m) == m - n).all()
    joint = obs_sweep(weight, hessian, n_m=(n, m), grid=QuantGrid(4, False), group_size=32, block_size=block_size)
    assert (zeros_per_group(joint, m) >= m - n).all()


def test_obs_sweep_rejects_a_width_that_is_not_a_multiple_of_m(wide_layer):
    weight, hessian = wide_layer
    with pytest.raises(ValueError, match=r"input width \(384\) to be a multiple of 5"):
        obs_sweep(weight, hessian, n_m=(2, 5))
