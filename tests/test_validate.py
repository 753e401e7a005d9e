"""`bench validate` against the hostile submissions of issue 14: each is reported as `file: field: message`
and makes the command exit 1, without a traceback or a hang; the site skips what validate rejects."""

from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner

from bench.cli import cli
from bench.validate import printable
from submissions import (DENSE_PATH, WANDA_PATH, dense_data, items_ref, on_task, sync_config, time_limit, wanda_data,
                         write, write_pair)


def validate(root) -> tuple[int, str]:
    with time_limit(30):
        outcome = CliRunner().invoke(cli, ["validate", str(root)])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.exception
    return outcome.exit_code, outcome.output


def assert_finding(root, rel: str, field: str, message: str) -> str:
    """Validate `root`: exit 1, and a line for `rel` naming `field` with a message matching `message`."""
    code, output = validate(root)
    line = rf"^{re.escape(str(root / rel))}: {re.escape(field)}{': ' if field else ''}.*{message}"
    assert code == 1 and re.search(line, output, re.MULTILINE), output
    assert re.search(r"^\d+ valid, [1-9]\d* invalid$", output, re.MULTILINE), output
    return output


def test_a_sound_pair_is_valid(tmp_path):
    write_pair(tmp_path)
    assert validate(tmp_path) == (0, "2 valid, 0 invalid\n")


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda d: d.update(main_score="40.0"), "main_score", "valid number"),
    (lambda d: d["metrics"].update(word_perplexity="40.0"), "metrics.word_perplexity", "valid number"),
    (lambda d: d["compression"].update(sparsity=9), "compression.sparsity", "less than or equal to 1"),
    (lambda d: d["task"].update(n_items=-3), "task.n_items", "greater than or equal to 0"),
    (lambda d: d["task"].update(n_items=0), "task.n_items", "must be > 0"),
    (lambda d: d["compression"].update(storage_bytes=0), "compression.storage_bytes", "greater than 0"),
    (lambda d: d["compression"].update(bits_per_weight=33.0), "compression.bits_per_weight", "32"),
    (lambda d: d.update(main_score=0.5, metrics={"word_perplexity": 0.5}, ), "main_score", r"outside \[1, inf\]"),
    (lambda d: d.update(main_score=41.0), "main_score", "is not metrics"),
    (lambda d: d.update(higher_is_better=True), "higher_is_better", "lower is better"),
    (lambda d: d.update(extra=1), "extra", "Extra inputs"),
    (lambda d: d["method"].update(slug="wanda-sp0.9"), "method.slug", "does not follow from the params"),
    (lambda d: d["method"]["params"].update(sparsity="0.5"), "method.params", "valid number"),
    (lambda d: d.update(date=1764000000), "date", "valid datetime"),
])
def test_wrong_types_ranges_and_content_are_findings(tmp_path, change, field, message):
    data = wanda_data()
    change(data)
    if field == "method.slug":  # keep the path in step with the slug, so only the slug is at fault
        write(tmp_path, DENSE_PATH, dense_data())
        write(tmp_path, f"org__model/{data['method']['slug']}/cpu-2c/wiki_ppl.json", data)
        assert_finding(tmp_path, f"org__model/{data['method']['slug']}/cpu-2c/wiki_ppl.json", field, message)
        return
    write_pair(tmp_path, data)
    assert_finding(tmp_path, WANDA_PATH, field, message)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_rejected(tmp_path, constant):
    write_pair(tmp_path, json.dumps(wanda_data()).replace('"main_score": 40.0', f'"main_score": {constant}'))
    assert_finding(tmp_path, WANDA_PATH, "", f"{constant} is not a JSON number")


def test_duplicate_keys_are_rejected_not_last_wins(tmp_path):
    text = json.dumps(wanda_data()).replace('"main_score": 40.0', '"main_score": 40.0, "main_score": 99.0')
    write_pair(tmp_path, text)
    assert_finding(tmp_path, WANDA_PATH, "", "duplicate key 'main_score'")


def test_a_200_mb_file_is_rejected_before_it_is_read(tmp_path):
    path = write_pair(tmp_path)
    os.truncate(path, 200 * 1024 * 1024)  # sparse: no 200 MB written
    assert_finding(tmp_path, WANDA_PATH, "", "over the 1048576-byte cap")


def test_a_path_naming_another_model_is_rejected(tmp_path):
    write(tmp_path, DENSE_PATH, dense_data())
    data = wanda_data()
    data["model"]["name"] = "org/other"
    write(tmp_path, WANDA_PATH, data)
    assert_finding(tmp_path, WANDA_PATH, "model.name", "'org__other' in the file but 'org__model' in its path")


def test_a_second_copy_under_another_path_is_rejected_and_the_original_kept(tmp_path):
    path = write_pair(tmp_path)
    copy = "ORG__model/wanda-sp0.5/cpu-2c/wiki_ppl.json"
    write(tmp_path, copy, path.read_text())
    output = assert_finding(tmp_path, copy, "", f"the same result .* as {WANDA_PATH}")
    assert f"{tmp_path / copy}: model.name: is 'org__model' in the file but 'ORG__model'" in output
    assert str(path) not in output and "2 valid, 1 invalid" in output


def test_two_results_whose_names_differ_only_in_case_are_both_rejected(tmp_path):
    write_pair(tmp_path)
    data = wanda_data()
    data["model"]["name"] = "org/MODEL"
    data["dense_reference"]["path"] = DENSE_PATH
    write(tmp_path, "org__MODEL/wanda-sp0.5/cpu-2c/wiki_ppl.json", sync_config(data))
    output = assert_finding(tmp_path, WANDA_PATH, "", "the same result .* as org__MODEL")
    assert "1 valid, 2 invalid" in output


def test_method_dense_in_a_wanda_folder_is_rejected(tmp_path):
    data = dense_data()
    data["method"]["slug"] = "wanda-sp0.5"
    write_pair(tmp_path, data)
    output = assert_finding(tmp_path, WANDA_PATH, "method.name", "belongs in a dense folder")
    assert "method.slug" in output


@pytest.mark.parametrize(("change", "field", "message"), [
    (lambda root, d: os.remove(root / DENSE_PATH), "dense_reference.path", "not a valid result file"),
    (lambda root, d: d.pop("dense_reference"), "dense_reference", "missing"),
    (lambda root, d: d["dense_reference"].update(main_score=3.0), "dense_reference.main_score", "not the dense"),
    (lambda root, d: d["dense_reference"].update(path="../../etc/passwd.json"), "dense_reference.path", "relative"),
])
def test_a_result_needs_its_true_dense_parent(tmp_path, change, field, message):
    data = wanda_data()
    write_pair(tmp_path)
    change(tmp_path, data)
    write(tmp_path, WANDA_PATH, data)
    assert_finding(tmp_path, WANDA_PATH, field, message)


@pytest.mark.parametrize(("make", "message"), [
    (lambda path: os.symlink("/dev/zero", path), "is a symbolic link"),
    (lambda path: os.mkfifo(path), "is a FIFO"),
    (lambda path: os.symlink(path.parent / "missing.json", path), "is a symbolic link"),
    (lambda path: path.mkdir(), "is a directory"),
])
def test_links_fifos_and_folders_named_json_are_findings_not_hangs(tmp_path, make, message):
    write_pair(tmp_path)
    bad = tmp_path / "org__model/dense/cpu-2c/x.json"
    make(bad)
    assert_finding(tmp_path, "org__model/dense/cpu-2c/x.json", "", message)


def test_an_unreadable_file_is_a_finding(tmp_path, monkeypatch):
    path = write_pair(tmp_path)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: make the open fail as it would for anyone else
        real_open = os.open

        def denied(name, *args, **kwargs):
            if str(name) == str(path):
                raise PermissionError(13, "Permission denied", str(name))
            return real_open(name, *args, **kwargs)

        monkeypatch.setattr(os, "open", denied)
    assert_finding(tmp_path, WANDA_PATH, "", "cannot open: Permission denied")


def test_an_upper_case_extension_is_found_and_reported(tmp_path):
    write(tmp_path, DENSE_PATH, dense_data())
    write(tmp_path, "org__model/wanda-sp0.5/cpu-2c/wiki_ppl.JSON", wanda_data())
    assert_finding(tmp_path, "org__model/wanda-sp0.5/cpu-2c/wiki_ppl.JSON", "", "ends in .json, not '.JSON'")


def test_what_a_file_says_is_escaped_in_the_output(tmp_path):
    data = wanda_data()
    data["x\n::error::pwned\x1b[31m"] = 1  # an unknown key: named in the finding
    write_pair(tmp_path, data)
    code, output = validate(tmp_path)
    assert code == 1 and "\x1b" not in output and not re.search(r"^\s*::", output, re.MULTILINE), output
    assert "x\\u000a::error::pwned\\u001b[31m: Extra inputs" in output
    assert printable("::error::x") == "\\::error::x" and printable("a\u2028b\tc") == "a\\u2028b\\u0009c"


def test_a_single_file_is_judged_within_its_submissions_folder(tmp_path):
    path = write_pair(tmp_path)
    assert validate(path) == (0, "1 valid, 0 invalid\n")
    os.remove(tmp_path / DENSE_PATH)
    assert validate(path)[0] == 1


def test_the_site_and_the_report_skip_a_bad_file_and_show_the_rest(tmp_path):
    write_pair(tmp_path)
    data = wanda_data()
    data["method"] = {"name": "magnitude", "params": {"sparsity": 0.5}, "slug": "magnitude-sp0.5"}
    data["main_score"] = float("-inf")
    write(tmp_path, "org__model/magnitude-sp0.5/cpu-2c/wiki_ppl.json", json.dumps(data))
    write(tmp_path, "org__model/random-sp0.5/cpu-2c/wiki_ppl.json", "{")
    with time_limit(60):
        outcome = CliRunner().invoke(cli, ["site", "build", "--submissions", str(tmp_path),
                                           "--out", str(tmp_path / "site")])
    assert outcome.exit_code == 0, outcome.output
    assert re.search(r"^skipped .*magnitude-sp0.5/cpu-2c/wiki_ppl.json: .*-Infinity", outcome.output, re.MULTILINE)
    assert re.search(r"^skipped .*random-sp0.5/cpu-2c/wiki_ppl.json: .*not valid JSON", outcome.output, re.MULTILINE)
    html = (tmp_path / "site/index.html").read_text()
    assert "wanda-sp0.5" in html and "magnitude-sp0.5" not in html


def free_embedding(metrics: dict[str, float]) -> dict:
    data = dense_data()
    data["model"] = {"name": "free-embedding", "source": "torch", "kind": "free-embedding", "n_params": 0}
    data["task"].update(n_items=4, engine_version="torch")
    data.update(main_metric="critical_n_max_d", higher_is_better=True, main_score=metrics["critical_n_max_d"],
                metrics=metrics)
    del data["items"]  # the one task without items
    return on_task(data, "limit_free_embedding")


def capitals(score: float, slug: str = "wanda-sp0.5", dense: float = 0.0) -> dict:
    data = on_task(wanda_data() if slug != "dense" else dense_data(), "capitals_mc")
    data.update(main_metric="acc", higher_is_better=True, main_score=score, metrics={"acc": score},
                items=items_ref("capitals_mc", "acc", "mean", {"value": [score, score]}))
    if slug != "dense":
        data["dense_reference"] = {"main_score": dense, "path": "org__model/dense/cpu-2c/capitals_mc.json"}
        for optional in ("model_params", "model_bytes", "model_bits_per_weight"):
            del data["compression"][optional]
    return sync_config(data)


@pytest.mark.parametrize("files", [
    {"free-embedding/dense/cpu-2c/limit_free_embedding.json": free_embedding({"critical_n_max_d": 5.0})},
    {"free-embedding/dense/cpu-2c/limit_free_embedding.json": free_embedding(
        {"critical_n_max_d": 5.0, "seconds_d4": 1.0, "seconds_dx": 2.0, "fit_dz": 1.0, "critical_n_d9" + "9" * 5000: 3.0})},
    {"org__model/dense/cpu-2c/capitals_mc.json": capitals(0.0, "dense"),  # no retained % (dense scored 0)
     "org__model/wanda-sp0.5/cpu-2c/capitals_mc.json": capitals(0.5)},
    {"org__model/dense/cpu-2c/capitals_mc.json": capitals(1e-308, "dense"),  # a retained % that overflows
     "org__model/wanda-sp0.5/cpu-2c/capitals_mc.json": capitals(1.0, dense=1e-308)},
], ids=["free-embedding-without-a-table", "free-embedding-malformed-names", "dense-scored-zero", "retained-overflows"])
def test_the_site_and_report_build_from_any_set_validate_accepts(tmp_path, files):
    for rel, data in files.items():
        write(tmp_path / "subs", rel, data)
    assert validate(tmp_path / "subs")[0] == 0
    for args in (["site", "build", "--out", str(tmp_path / "site")], ["report", "--suite", "limit"],
                 ["report", "--suite", "smoke"]):
        outcome = CliRunner().invoke(cli, [*args, "--submissions", str(tmp_path / "subs")])
        assert outcome.exit_code == 0, outcome.output
    html = (tmp_path / "site/index.html").read_text()
    assert all(data["method"]["slug"] in html and data["task"]["name"] in html for data in files.values())
    assert "inf%" not in html and "nan%" not in html
