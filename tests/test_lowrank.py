"""Low rank stores what its factors really take: a rank derived from a target size, and never more
bytes than the dense weight."""

import pytest
import torch
from click.testing import CliRunner

from bench.assets import load_model, resolve_model
from bench.cli import cli
from bench.methods.base import make_method
from bench.methods.layerwise import target_layers


@pytest.fixture(scope="module")
def compress_lowrank(tiny_llama_dir):
    ref = resolve_model(str(tiny_llama_dir))

    def run(params):
        model = load_model(ref, torch.float32, "cpu")
        shapes = {name: layer.weight.shape for name, layer in target_layers(model.module).items()}
        method = make_method("lowrank", params)
        return model, shapes, method.compress(model, None)

    return run


@pytest.mark.parametrize("rows,cols", [(576, 576), (576, 1536), (1536, 576), (16, 32), (1, 8), (3, 5)])
@pytest.mark.parametrize("keep", [0.1, 0.25, 0.5, 1.0])
def test_keep_gives_the_largest_rank_whose_factors_fit(rows, cols, keep):
    rank = make_method("lowrank", {"keep": keep}).params.rank(rows, cols)
    budget = keep * rows * cols
    assert rank >= 1
    assert rank * (rows + cols) <= budget or rank == 1  # rank 1 is the floor, even over a tiny budget
    assert (rank + 1) * (rows + cols) > budget


def test_keep_half_is_the_default_and_halves_the_stored_numbers(compress_lowrank):
    model, shapes, facts = compress_lowrank({})
    assert make_method("lowrank", {}).slug() == "lowrank-keep0.5"
    assert facts.storage_format == "low-rank factors"
    assert facts.storage_bytes <= 0.5 * facts.dense_bytes and facts.bits_per_weight <= 8
    for name, layer in target_layers(model.module).items():
        rows, cols = shapes[name]
        assert torch.linalg.matrix_rank(layer.weight) == rows * cols // (2 * (rows + cols))


def test_rank_ratio_half_of_a_square_weight_stores_as_many_numbers_as_the_dense_one(compress_lowrank):
    model, shapes, facts = compress_lowrank({"rank_ratio": 0.5})
    square = [name for name, (rows, cols) in shapes.items() if rows == cols]
    assert square  # q_proj and o_proj of the tiny Llama
    stored = {name: make_method("lowrank", {"rank_ratio": 0.5}).params.storage(layer.weight)[1]
              for name, layer in target_layers(model.module).items()}
    assert all(stored[name] == 2 * shapes[name].numel() for name in square)
    assert facts.storage_bytes == sum(stored.values())


def test_factors_larger_than_the_dense_weight_are_stored_dense_and_say_so(compress_lowrank):
    # At rank ratio 0.6 the square attention weights' factors (19 x (32 + 32)) outgrow the weight
    # (32 x 32); the MLP's (19 x (64 + 32) < 64 x 32) do not.
    _, shapes, facts = compress_lowrank({"rank_ratio": 0.6})
    factor_numbers = {name: round(0.6 * min(shape)) * sum(shape) for name, shape in shapes.items()}
    assert facts.storage_bytes == 2 * sum(min(factor_numbers[name], shape.numel()) for name, shape in shapes.items())
    assert facts.storage_bytes < 2 * sum(factor_numbers.values())
    assert facts.storage_format == "dense (low-rank factors would be larger) | low-rank factors"


@pytest.mark.parametrize("args,expected", [
    (["--keep", "0"], "keep must be in (0, 1], got 0.0"),
    (["--keep", "1.5"], "keep must be in (0, 1], got 1.5"),
    (["--keep", "0.5", "--rank-ratio", "0.5"], "give one of keep or a rank ratio"),
])
def test_cli_checks_keep(args, expected):
    result = CliRunner().invoke(cli, ["run", "--method", "lowrank", *args])
    assert result.exit_code == 2 and expected in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_keep_belongs_to_lowrank_only():
    result = CliRunner().invoke(cli, ["run", "--method", "wanda", "--keep", "0.5"])
    assert result.exit_code == 2 and "method 'wanda' takes no keep" in result.output
