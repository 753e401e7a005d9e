"""GPTQ's and SparseGPT's options (--damp, --act-order, --static-groups): validated, in the slug, and
passed through to the OBS sweep (whose math test_reference_math.py pins)."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from bench import BenchError
from bench.cli import cli
from bench.methods.base import make_method
from bench.methods.llm.obs import accumulate_hessian, obs_sweep


@pytest.mark.parametrize("method,params,slug", [
    ("gptq", {}, "gptq-w4g128"),
    ("gptq", {"damp": 0.01, "act_order": False}, "gptq-w4g128"),  # defaults keep today's slugs
    ("gptq", {"act_order": True}, "gptq-w4g128-act"),
    ("gptq", {"act_order": True, "static_groups": True, "damp": 0.1}, "gptq-w4g128-act-static-damp0.1"),
    ("gptq", {"bits": 3, "group_size": 0, "act_order": True}, "gptq-w3-act"),
    ("sparsegpt", {}, "sparsegpt-sp0.5"),
    ("sparsegpt", {"pattern": "2:4", "bits": 4, "damp": 0.05}, "sparsegpt-2of4-w4g128-damp0.05"),
])
def test_options_name_the_variant(method, params, slug):
    assert make_method(method, params).slug() == slug


@pytest.mark.parametrize("method,params,error", [
    ("gptq", {"damp": 0.0}, "damp must be in (0, 1], got 0.0"),
    ("sparsegpt", {"damp": 1.5}, "damp must be in (0, 1], got 1.5"),
    ("gptq", {"static_groups": True, "group_size": 0}, "static groups need a group size"),
    ("gptq", {"static_groups": True, "act_order": True, "group_size": 0}, "static groups need a group size"),
    ("sparsegpt", {"act_order": True}, "method 'sparsegpt' takes no act_order"),
    ("rtn", {"damp": 0.1}, "method 'rtn' takes no damp"),
])
def test_bad_options_are_one_line_errors(method, params, error):
    with pytest.raises(BenchError, match=error.replace("(", r"\(").replace(")", r"\)")):
        make_method(method, params)


@pytest.fixture(scope="module")
def layer() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(5)
    inputs = torch.randn(128, 16, generator=g) * torch.logspace(-1, 1, 16)
    hessian = torch.zeros(16, 16, dtype=torch.float64)
    accumulate_hessian(hessian, inputs)
    return torch.randn(8, 16, generator=g), hessian


@pytest.mark.parametrize("method,params,kernel", [
    ("gptq", {"bits": 3, "group_size": 4, "damp": 0.2, "act_order": True, "static_groups": True},
     {"group_size": 4, "damp": 0.2, "act_order": True, "static_groups": True}),
    ("sparsegpt", {"sparsity": 0.5, "damp": 0.2}, {"sparsity": 0.5, "damp": 0.2}),
])
def test_methods_pass_their_options_to_the_sweep(layer, method, params, kernel):
    weight, hessian = layer
    compressed = make_method(method, params).compress_weight(weight, hessian, 0, 1)
    grid = make_method(method, params).params.grid
    assert torch.equal(compressed, obs_sweep(weight, hessian, grid=grid, **kernel))
    assert not torch.equal(compressed, obs_sweep(weight, hessian, grid=grid, group_size=kernel.get("group_size"),
                                                 sparsity=kernel.get("sparsity", 0.0)))


@pytest.mark.parametrize("args,expected", [
    (["--method", "gptq", "--static-groups", "--group-size", "0"], "static groups need a group size"),
    (["--method", "gptq", "--damp", "0"], "damp must be in (0, 1], got 0.0"),
    (["--method", "wanda", "--act-order"], "method 'wanda' takes no act_order"),
])
def test_cli_refuses_bad_options_in_one_line(args, expected):
    result = CliRunner().invoke(cli, ["run", *args])
    assert result.exit_code == 2 and expected in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("params,profile,slug", [
    ({}, "cpu-2c", "gptq-w4g128-act"),  # cpu-2c's default, named in the slug
    ({"act_order": False}, "cpu-2c", "gptq-w4g128"),
    ({}, "a100-80g", "gptq-w4g128-calib-news"),  # the paper's setting on the GPU profiles (calibrated offline here)
])
def test_a_profile_sets_method_defaults_the_slug_names(params, profile, slug):
    from bench.runner import RunRequest, plan

    request = RunRequest(method="gptq", method_params=params, profile=profile, tasks=["wiki_ppl"],
                         calib_source="news")
    assert plan(request).method.slug() == slug


def test_act_order_groups_in_processing_order_store_each_columns_group_index():
    weight = torch.zeros(8, 256)
    plain = make_method("gptq", {"bits": 4, "group_size": 128}).params.storage(weight)
    act = make_method("gptq", {"bits": 4, "group_size": 128, "act_order": True}).params.storage(weight)
    static = make_method("gptq", {"bits": 4, "group_size": 128, "act_order": True, "static_groups": True})
    assert act[1] == plain[1] + 4 * 256 and act[0].endswith("+ group index")
    assert static.params.storage(weight) == plain  # static groups are consecutive: no index needed
