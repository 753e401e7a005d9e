"""`bench verify` on real tiny results: untouched files agree; an item edited with everything validate checks
made consistent again, an edited score and an edited method param are each caught; bad input exits 2."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from click.testing import CliRunner

from bench.cli import cli
from bench.intervals import retained_interval, score_interval
from bench.item_results import items_of
from bench.items import ItemRun, Items, dumps
from bench.result_checks import params_slug
from bench.run_config import RunConfig, config_hash
from bench.runner import RunRequest, run
from bench.schema import MethodInfo, load_result
from bench.verify import compare

WANDA_CAPITALS = "local__tiny-llama0/wanda-sp0.5-calib2x32-seed0/cpu-2c/capitals_mc.json"
WANDA_PPL = "local__tiny-llama0/wanda-sp0.5-calib2x32-seed0/cpu-2c/wiki_ppl.json"


@pytest.fixture(scope="module")
def runs(tiny_llama_dir, tiny_encoder_dir, tmp_path_factory) -> Path:
    """One submissions folder: wanda (seed 0, tiny calibration) on the tiny Llama's wiki_ppl and capitals_mc,
    and 2:4 magnitude on the tiny encoder's wiki_retrieval, 3 items each, with their dense parents."""
    out = tmp_path_factory.mktemp("verify-runs")
    quiet = dict(log=lambda _line: None)
    run(RunRequest(method="wanda", method_params={"sparsity": 0.5}, model=str(tiny_llama_dir), seed=0, out=out,
                   tasks=["wiki_ppl", "capitals_mc"], limit=3, calib_samples=2, calib_seqlen=32), **quiet)
    run(RunRequest(method="magnitude", method_params={"pattern": "2:4"}, model=str(tiny_encoder_dir), out=out,
                   tasks=["wiki_retrieval"], limit=3), **quiet)
    return out


@pytest.fixture
def subs(runs, tmp_path) -> Path:
    """A copy of the runs a test may edit."""
    return Path(shutil.copytree(runs, tmp_path / "subs"))


def verify(root: Path, *args: str, dirs: tuple[Path, ...] = ()) -> tuple[int, str]:
    outcome = CliRunner().invoke(cli, ["verify", "--submissions", str(root), "--log", str(root.parent / "verify.log"),
                                       *(arg for d in dirs for arg in ("--model-dir", str(d))), *args])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.exception
    return outcome.exit_code, outcome.output


def rewrite(root: Path, rel: str, change: Callable[[dict[str, Any]], None]) -> str:
    """Edit a result's JSON, recompute its config hash, and store it where its (maybe changed) content says."""
    path = root / rel
    data = json.loads(path.read_text())
    change(data)
    data["config_hash"] = config_hash(RunConfig.model_validate(data["config"]))
    new_rel = f"{data['model']['name'].replace('/', '__')}/{data['method']['slug']}/{data['profile']}/{path.name}"
    if new_rel != rel:
        (root / new_rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path.with_name(data["items"]["file"]), root / new_rel.replace(".json", ".items.json"))
        path.unlink()
    (root / new_rel).write_text(json.dumps(data))
    return new_rel


def test_untouched_results_agree(runs, tiny_llama_dir, tiny_encoder_dir):
    code, output = verify(runs, str(runs), "--sample", "2", dirs=(tiny_llama_dir, tiny_encoder_dir))
    assert code == 0, output
    ok = [line for line in output.splitlines() if line.startswith("OK ")]
    assert len(ok) == 6 and all("2/2 items agree" in line and "weights identical" in line for line in ok), output
    assert "6 agree, 0 differ, 0 invalid" in output


def test_an_edited_item_is_caught_though_validate_accepts_it(subs, tiny_llama_dir):
    """The item's value is flipped and the score, the items sha256 and both intervals follow it."""
    path = subs / WANDA_CAPITALS
    result = load_result(path)
    items = items_of(path, result)
    values = list(items.runs[0].values["value"])
    values[1] = 1.0 - values[1]
    edited = items.model_copy(update={"runs": [items.runs[0].model_copy(update={"values": {"value": values}})]})
    text = dumps(edited)
    path.with_name(result.items.file).write_text(text)
    dense_path = subs / result.dense_reference.path
    dense_items = items_of(dense_path, load_result(dense_path))

    def consistent(data: dict[str, Any]) -> None:
        data["main_score"] = data["metrics"]["acc"] = sum(values) / len(values)
        data["items"]["sha256"] = hashlib.sha256(text.encode()).hexdigest()
        data["score_interval"] = score_interval(edited).model_dump(mode="json")
        data["retained_interval"] = retained_interval(dense_items, edited, True)
        data["retained_interval"] = data["retained_interval"] and data["retained_interval"].model_dump(mode="json")

    rewrite(subs, WANDA_CAPITALS, consistent)
    assert CliRunner().invoke(cli, ["validate", str(subs)]).exit_code == 0
    code, output = verify(subs, str(path), dirs=(tiny_llama_dir,))
    assert code == 1 and f"{path}: items[1].value: stored {values[1]!r}, got {1.0 - values[1]!r}" in output, output
    assert f"FAIL {path}: 2/3 items agree" in output and "weights identical" in output


def test_an_edited_main_score_is_caught_by_validation(subs, tiny_llama_dir):
    path = subs / WANDA_PPL
    data = json.loads(path.read_text())
    data["main_score"] *= 0.9
    path.write_text(json.dumps(data))
    code, output = verify(subs, str(path), dirs=(tiny_llama_dir,))
    assert code == 1 and f"{path}: main_score: " in output and f"INVALID {path}: not verified" in output, output
    assert not any(line.startswith(("OK ", "FAIL ")) for line in output.splitlines())


def test_an_edited_method_param_makes_the_weights_differ(subs, tiny_llama_dir):
    def sparser(data: dict[str, Any]) -> None:
        data["method"]["params"]["sparsity"] = data["config"]["method"]["params"]["sparsity"] = 0.6
        data["method"]["slug"] = params_slug(MethodInfo.model_validate(data["method"]))

    rel = rewrite(subs, WANDA_PPL, sparser)
    assert rel != WANDA_PPL and CliRunner().invoke(cli, ["validate", str(subs)]).exit_code == 0
    code, output = verify(subs, str(subs / rel), dirs=(tiny_llama_dir,))
    assert code == 1 and f"{subs / rel}: model.weights_hash: stored " in output, output
    assert f"FAIL {subs / rel}: " in output and "weights differ" in output


def test_bad_input_exits_2_with_one_line(subs, tiny_llama_dir):
    code, output = verify(subs, str(subs / WANDA_PPL))
    assert code == 2 and "--model-dir" in output.splitlines()[-1], output
    if torch.cuda.is_available():
        return

    def on_a_gpu(data: dict[str, Any]) -> None:
        data["profile"] = "a100-80g"
        data["config"]["profile"]["device"] = "cuda"

    dense = "local__tiny-llama0/dense/cpu-2c/wiki_ppl.json"
    rel = rewrite(subs, dense, on_a_gpu)
    code, output = verify(subs, str(subs / rel), dirs=(tiny_llama_dir,))
    assert code == 2 and "needs a CUDA device" in output.splitlines()[-1], output


def _items(values: list[float], predictions: list[str]) -> Items:
    return Items(task="t", main_metric="acc", aggregation="mean", ids=["a", "b"],
                 runs=[ItemRun(values={"value": values}, predictions=predictions)])


def test_compare_holds_numbers_to_the_tolerance_and_predictions_exactly():
    stored = _items([0.5, 0.25], ["x", "y"])
    assert compare(stored, 0, _items([0.5 * (1 + 1e-7), 0.25], ["x", "y"]), ["a", "b"], 1e-5)[:2] == ([], 2)
    found, agree, _ = compare(stored, 0, _items([0.5 * (1 + 1e-3), 0.25], ["x", "z"]), ["a", "b"], 1e-5)
    assert agree == 0 and found[0].startswith("items[a].value: stored 0.5, got 0.5005")
    assert found[1] == "items[b].prediction: stored 'y', got 'z'" and found[2].startswith("main_score over the 2")
    assert math.isnan(compare(stored, 0, _items([0.5, 0.25], ["x", "y"]).model_copy(
        update={"aggregation": "spearman"}), ["a"], 1e-5)[2])
