"""Result schema v2: round trip, strictness, atomic writes."""

import json
import os
import statistics

import pytest
from pydantic import ValidationError

from bench import files
from bench.schema import RunResult, load_result, result_path, save_result
from submissions import wanda_data


def make_result(**overrides) -> RunResult:
    return RunResult.model_validate({**wanda_data(), **overrides})


def test_round_trip_through_a_file(tmp_path):
    result = make_result()
    path = result_path(tmp_path, result.model.dirname, result.method.slug, result.profile, result.task.name)
    assert path == tmp_path / "org__model" / "wanda-sp0.5" / "cpu-2c" / "wiki_ppl.json"
    save_result(result, path)
    assert load_result(path) == result
    assert json.loads(path.read_text())["schema_version"] == 2


def test_unknown_fields_and_other_schema_versions_are_rejected():
    with pytest.raises(ValidationError):
        make_result(surprise=1)
    for version in (1, 3, True):
        with pytest.raises(ValidationError):
            make_result(schema_version=version)


def test_retained_inverts_lower_is_better_metrics():
    assert make_result().retained == pytest.approx(30 / 40)
    higher = make_result(higher_is_better=True, main_score=0.6,
                         dense_reference={"main_score": 0.8, "path": "x"})
    assert higher.retained == pytest.approx(0.75)


def test_a_failed_write_leaves_the_old_file_whole_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    files.write_json_atomic(path, {"old": True})

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        files.write_json_atomic(path, {"new": True})
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_interrupt_right_after_the_rename_stays_an_interrupt(tmp_path, monkeypatch):
    real_replace = os.replace

    def replace_then_interrupted(*args):
        real_replace(*args)
        raise KeyboardInterrupt  # SIGTERM or Ctrl-C between the rename and the end of the write

    monkeypatch.setattr(os, "replace", replace_then_interrupted)
    with pytest.raises(KeyboardInterrupt):  # not a FileNotFoundError from removing a temp file already renamed
        files.write_json_atomic(tmp_path / "r.json", {"new": True})
    assert json.loads((tmp_path / "r.json").read_text()) == {"new": True}


def test_written_files_and_folders_are_readable_by_others(tmp_path):
    old_umask = os.umask(0o077)  # a strict umask must not leak into shared results or a deployed site
    try:
        files.write_json_atomic(tmp_path / "a" / "b" / "r.json", {"x": 1})
    finally:
        os.umask(old_umask)
    assert (tmp_path / "a" / "b" / "r.json").stat().st_mode & 0o777 == 0o644
    assert [(tmp_path / d).stat().st_mode & 0o777 for d in ("a", "a/b")] == [0o755, 0o755]


def multi_seed(**overrides) -> RunResult:
    """A 3-seed aggregate of perplexities 39, 40 and 44."""
    seed_runs = [{"seed": seed, "main_score": score, "calibration_hash": f"{seed}" * 64}
                 for seed, score in [(0, 39.0), (1, 40.0), (2, 44.0)]]
    spread = {"std": statistics.stdev([39.0, 40.0, 44.0]), "min": 39.0, "max": 44.0}
    return make_result(**{"main_score": 41.0, "seed_runs": seed_runs, "spread": spread, **overrides})


def test_a_multi_seed_result_round_trips_and_old_files_load_as_single_seed(tmp_path):
    assert make_result().seed_runs == [] and make_result().spread is None and make_result().retained_std is None
    result = multi_seed()
    save_result(result, tmp_path / "r.json")
    assert load_result(tmp_path / "r.json") == result
    # lower is better: each seed retains dense / its own perplexity
    assert result.retained_std == pytest.approx(statistics.stdev([30 / 39, 30 / 40, 30 / 44]))


@pytest.mark.parametrize("overrides,message", [
    ({"main_score": 40.0}, "must be the mean and spread"),
    ({"spread": {"std": 1.0, "min": 39.0, "max": 44.0}}, "must be the mean and spread"),
    ({"spread": {"std": statistics.stdev([39.0, 40.0, 44.0]), "min": 39.0, "max": 45.0}}, "must be the mean"),
    ({"spread": None}, "two or more seed_runs and their spread"),
    ({"seed_runs": [{"seed": 0, "main_score": 41.0}]}, "two or more seed_runs"),
    ({"seed_runs": [{"seed": 0, "main_score": v} for v in (39.0, 40.0, 44.0)]}, "repeat a seed"),
])
def test_an_aggregate_whose_score_or_spread_is_not_its_seeds_is_rejected(overrides, message):
    with pytest.raises(ValidationError, match=message):
        multi_seed(**overrides)
