"""`bench submit RUN_DIR`: valid results (with their dense parents) are copied into the submissions layout,
an invalid run copies nothing, a different existing result is never replaced without --force."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from bench.cli import cli
from bench.submit import ATTACH, REVIEWERS_CHECK
from submissions import DENSE_PATH, WANDA_PATH, dense_data, time_limit, wanda_data, write, write_pair

TEMPLATE = Path(__file__).resolve().parents[1] / ".github" / "PULL_REQUEST_TEMPLATE.md"


def invoke(*args: str) -> tuple[int, str]:
    with time_limit(30):
        outcome = CliRunner().invoke(cli, [*args])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), outcome.exception
    return outcome.exit_code, outcome.output


def submit(run: Path, subs: Path, *extra: str) -> tuple[int, str]:
    return invoke("submit", str(run), "--submissions", str(subs), *extra)


def test_a_valid_run_is_copied_in_the_submissions_layout(tmp_path):
    run, subs = tmp_path / "run", tmp_path / "subs"
    write_pair(run)
    code, output = submit(run, subs)
    assert code == 0, output
    for rel in (DENSE_PATH, WANDA_PATH):
        assert (subs / rel).read_bytes() == (run / rel).read_bytes()
        assert stat.S_IMODE((subs / rel).stat().st_mode) == 0o644
        assert f"added {(subs / rel).as_posix()}" in output
    assert "2 valid, 0 invalid" in output and "Attach:" in output and "bench validate submissions" in output
    assert invoke("validate", str(subs)) == (0, "2 valid, 0 invalid\n")


def test_an_invalid_run_prints_validates_findings_and_copies_nothing(tmp_path):
    run, subs = tmp_path / "run", tmp_path / "subs"
    wanda = wanda_data()
    wanda["compression"]["sparsity"] = 9
    write_pair(run, wanda)
    code, output = submit(run, subs)
    validate_code, validate_output = invoke("validate", str(run))
    assert code == validate_code == 1
    assert output.startswith(validate_output), output  # the findings exactly as `bench validate` prints them
    assert "compression.sparsity" in output and "1 valid, 1 invalid" in output
    assert not subs.exists()


def test_resubmitting_skips_identical_files(tmp_path):
    run, subs = tmp_path / "run", tmp_path / "subs"
    write_pair(run)
    assert submit(run, subs)[0] == 0
    code, output = submit(run, subs)
    assert code == 0 and "added" not in output and "2 already there, identical" in output, output


def test_a_different_existing_result_is_refused_unless_forced(tmp_path):
    run, subs = tmp_path / "run", tmp_path / "subs"
    write_pair(run)
    theirs = wanda_data()
    theirs.update(main_score=41.0, metrics={"word_perplexity": 41.0, "bits_per_byte": 1.4})
    write_pair(subs, theirs)
    before = (subs / WANDA_PATH).read_text()

    code, output = submit(run, subs)
    assert code == 2 and output.count("\n") == 1, output
    assert f"{(subs / WANDA_PATH).as_posix()}: a different file" in output and "--force" in output
    assert (subs / WANDA_PATH).read_text() == before

    code, output = submit(run, subs, "--force")
    assert code == 0, output
    assert f"replaced {(subs / WANDA_PATH).as_posix()}" in output and "1 already there, identical" in output
    assert json.loads((subs / WANDA_PATH).read_text())["main_score"] == 40.0


def test_a_result_filed_under_another_letter_case_is_the_same_key(tmp_path):
    run, subs = tmp_path / "run", tmp_path / "subs"
    write_pair(run)
    theirs = dense_data()
    theirs["model"]["name"] = "Org/model"
    write(subs, DENSE_PATH.replace("org__model", "Org__model"), theirs)
    code, output = submit(run, subs)
    assert code == 2 and "Org__model/dense/cpu-2c/wiki_ppl.json: a different file" in output, output

    code, output = submit(run, subs, "--force")
    assert code == 0, output
    assert not list((subs / "Org__model").rglob("*.json"))
    assert invoke("validate", str(subs)) == (0, "2 valid, 0 invalid\n")


def test_an_invalid_submissions_folder_after_the_copy_exits_1(tmp_path):
    run, subs = tmp_path / "run", tmp_path / "subs"
    write_pair(run)
    write(subs, "other__model/dense/cpu-2c/wiki_ppl.json", "{not json")
    code, output = submit(run, subs)
    assert code == 1 and "other__model/dense/cpu-2c/wiki_ppl.json: is not valid JSON" in output, output
    assert "2 valid, 1 invalid" in output and "Attach:" not in output


def test_a_missing_or_empty_run_folder_is_a_one_line_error(tmp_path):
    for run in (tmp_path / "absent", tmp_path):
        code, output = submit(run, tmp_path / "subs")
        assert code == 2 and output.startswith("Error: ") and output.count("\n") == 1, output


def test_the_pull_request_template_holds_the_printed_checklist():
    template = TEMPLATE.read_text()
    missing = [item for item in [*ATTACH, *REVIEWERS_CHECK] if item not in template]
    assert not missing, f"{TEMPLATE} lacks: {missing}"
