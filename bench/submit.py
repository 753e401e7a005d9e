"""`bench submit RUN_DIR`: copy the results of a run into a submissions folder for a pull request. Every
file is judged by `bench validate`'s own checks first (a run folder holds each result's dense parent, so
parents travel with their results); nothing is copied unless all pass, an existing different result is
never replaced without --force, and the submissions folder is validated again after the copy."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from bench import BenchError
from bench.items import MAX_ITEMS_BYTES, items_file_name
from bench.safe_json import UnsafeFile, read_capped_text
from bench.files import write_text_atomic
from bench.validate import Checked, candidates, check_root

# What a pull request carries, and what its reviewers check; .github/PULL_REQUEST_TEMPLATE.md holds the
# same items as check boxes (tests/test_submit.py keeps the two in step).
ATTACH = [
    "the exact `bench run` command(s) that produced these results",
    "the hardware they ran on (CPU/GPU model, cores, memory) and the profile named",
    "the output of `bench validate submissions`",
]
REVIEWERS_CHECK = [
    "CI passes: `bench validate submissions` and the site build",
    "each result has its dense parent from the same run (same task version, data and profile)",
    "the method, params and profile in each file match the command given",
    "retained % is plausible for the method (a large gain over the dense parent needs an explanation)",
]


@dataclass
class Plan:
    """What copying a run's results into a submissions folder does, by path relative to both roots."""

    texts: dict[str, str] = field(default_factory=dict)  # every valid result of the run, as read
    # a result's path -> its items file's path and text (bench.items), copied with it
    items: dict[str, tuple[str, str]] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)  # the run's path -> the different file there


def check_run(run_dir: Path) -> Checked:
    """The run folder judged as `bench validate` judges it; a missing or empty folder is a user error."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BenchError(f"{run_dir} is not a folder of results (bench run --out FOLDER writes one)")
    checked = check_root(run_dir)
    if not checked.files:
        raise BenchError(f"{run_dir} holds no result file")
    return checked


def plan_copy(checked: Checked, submissions: Path) -> Plan:
    """Sort the run's results into new, identical and different ones. A file already in `submissions`
    under the same path, or a path differing only in letter case (validate allows one), is the same key."""
    existing = {rel.lower(): rel for rel in candidates(submissions)[0]} if submissions.is_dir() else {}
    plan = Plan()
    for rel in sorted(checked.results):
        plan.texts[rel] = read_capped_text(checked.root / rel)
        if checked.results[rel].items is not None:
            items_rel = (PurePosixPath(rel).parent / checked.results[rel].items.file).as_posix()
            plan.items[rel] = items_rel, read_capped_text(checked.root / items_rel, MAX_ITEMS_BYTES)
        there = existing.get(rel.lower())
        if there is None:
            plan.added.append(rel)
        elif there == rel and _text_or_none(submissions / rel) == plan.texts[rel]:
            plan.unchanged.append(rel)
        else:
            plan.conflicts[rel] = there
    return plan


def _text_or_none(path: Path) -> str | None:
    try:
        return read_capped_text(path)
    except UnsafeFile:  # a link, FIFO or oversized file in the submissions folder is never "identical"
        return None


def apply(plan: Plan, submissions: Path, force: bool) -> None:
    """Write the new results (and, with `force`, replace the different ones), each atomically as 0644."""
    if plan.conflicts and not force:
        first = (Path(submissions) / next(iter(plan.conflicts.values()))).as_posix()
        more = f" (and {len(plan.conflicts) - 1} more)" if len(plan.conflicts) > 1 else ""
        raise BenchError(f"{first}{more}: a different file already holds this result (same model, method, "
                         "profile and task); --force replaces it")
    for rel, there in plan.conflicts.items():
        if there != rel:  # filed under another letter case: the old file (and its items) goes, or validate sees two
            old = Path(submissions) / there
            os.unlink(old)
            old.with_name(items_file_name(old.name[:-len(".json")])).unlink(missing_ok=True)
    for rel, text in plan.texts.items():
        if rel in plan.unchanged:
            continue
        try:  # the items first: a reader never finds a result without the items it names
            if rel in plan.items:
                write_text_atomic(Path(submissions) / plan.items[rel][0], plan.items[rel][1])
            write_text_atomic(Path(submissions) / rel, text)
        except OSError as err:
            raise BenchError(f"cannot write {(Path(submissions) / rel).as_posix()}: {err.strerror}") from None


def submit(run_dir: Path, submissions: Path, force: bool, echo: Callable[[str], None]) -> int:
    """Validate the run, copy it, validate the submissions folder; the exit status (1: a finding)."""
    checked = check_run(run_dir)
    if checked.findings:
        echo_findings(checked, echo)
        echo("nothing copied: fix the files above (or rerun them), then submit again")
        return 1
    plan = plan_copy(checked, Path(submissions))
    apply(plan, Path(submissions), force)
    for verb, paths in (("added", plan.added), ("replaced", list(plan.conflicts))):
        for rel in paths:
            echo(f"{verb} {(Path(submissions) / rel).as_posix()}")
    if plan.unchanged:
        echo(f"{len(plan.unchanged)} already there, identical")
    echo(f"bench validate {Path(submissions).as_posix()}:")
    after = check_root(Path(submissions))
    echo_findings(after, echo)
    if after.findings:
        echo(f"{Path(submissions).as_posix()} is not valid: fix the files above before opening a pull request")
        return 1
    echo(checklist(Path(submissions)))
    return 0


def echo_findings(checked: Checked, echo: Callable[[str], None]) -> None:
    """As `bench validate` prints them: one line per finding, then the counts."""
    for finding in checked.findings:
        echo(finding.line(checked.root))
    echo(f"{len(checked.files) - len(checked.invalid)} valid, {len(checked.invalid)} invalid")


def checklist(submissions: Path) -> str:
    """The pull-request checklist printed after a submission."""
    lines = [f"Open a pull request with the new files under {submissions.as_posix()}/. Attach:"]
    lines += [f"  - {item}" for item in ATTACH]
    lines += ["Reviewers check:"] + [f"  - {item}" for item in REVIEWERS_CHECK]
    return "\n".join(lines)
