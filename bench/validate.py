"""`bench validate`: check a submissions folder as a maintainer reviewing a pull request would. Every
file is hostile input (bench.safe_json), validated strictly (bench.schema), checked for sound content
(bench.result_checks), for a path that agrees with its content, for one file per result, and for a dense
parent in the same folder that it truly pairs with. Reports and the site read results through here too,
so a file validate rejects is never shown."""

from __future__ import annotations

import math
import os
import unicodedata
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from bench import BenchError
from bench.item_checks import item_problems, paired_item_problems
from bench.items import ITEMS_SUFFIX
from bench.result_checks import content_problems
from bench.safe_json import UnsafeFile
from bench.schema import PATH_PART, OutdatedResult, RunResult, load_result, model_dirname

# What a result and its dense parent must share to be compared.
PAIRED_FIELDS = ["model.name", "task.name", "task.version", "task.data_hash", "task.limit", "profile"]
MAX_FINDINGS_PER_FILE = 20  # a file with hundreds of bad fields need not flood a CI log


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the submissions root
    field: str  # "" for the file as a whole
    message: str

    def line(self, root: Path | None = None) -> str:
        """`file: field: message` (the file under `root` when given), safe to print in a terminal or a CI log."""
        path = (Path(root) / self.path).as_posix() if root is not None else self.path
        return printable(": ".join(part for part in (path, self.field, self.message) if part))


@dataclass
class Checked:
    """The results that passed every check, by path relative to the root, and the findings."""

    root: Path
    files: list[str] = field(default_factory=list)
    results: dict[str, RunResult] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def invalid(self) -> list[str]:
        return sorted({f.path for f in self.findings})



def printable(text: str, limit: int = 300) -> str:
    """Control and format characters escaped (no newline, no terminal escape), at most `limit` characters,
    and never a line a CI runner reads as a command (GitHub's `::error::`, Azure's `##vso[`)."""
    escaped = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)
    if len(escaped) > limit:
        escaped = escaped[:limit] + "..."
    return "\\" + escaped if escaped.startswith(("::", "##")) else escaped


def candidates(root: Path) -> tuple[list[str], list[Finding]]:
    """Every name ending in .json (any case) but a result's items (`.items.json`, read with the result that
    names it) under `root`, outside hidden folders (a multi-seed run's
    per-seed progress in .seeds/), without following links; a link to a folder or a folder that cannot
    be listed is itself an invalid entry."""
    found, findings = [], []

    def flag(rel: str, message: str) -> None:
        found.append(rel)
        findings.append(Finding(rel, "", message))

    # os.scandir by hand rather than os.walk: one listing per folder and plain string paths (a tenth of the
    # walk's time at 10,000 files); folders in os.walk's top-down order, so findings keep theirs.
    pending = [("", os.fspath(root))]  # (path relative to root with a trailing '/', folder)
    while pending:
        prefix, folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as err:
            flag(_relative(root, err.filename or folder), f"cannot list: {err.strerror}")
            continue
        below = []
        for entry in entries:
            name, rel = entry.name, prefix + entry.name
            lower = name.lower()
            if lower.endswith(".json") and not lower.endswith(ITEMS_SUFFIX):
                found.append(rel)  # a folder named x.json too: reading it reports it
            try:
                is_dir = entry.is_dir()  # follows a link, as os.walk does, to tell a link to a folder
            except OSError:
                is_dir = False
            if not is_dir:
                continue
            link = entry.is_symlink()
            if link and not lower.endswith(".json"):
                flag(rel, "is a symbolic link to a folder: not followed")
            if not (name.startswith(".") or lower.endswith(".json") or link):
                below.append((rel + "/", entry.path))
        pending += reversed(below)
    return sorted(set(found)), findings


def _relative(root: Path, path: str | os.PathLike[str]) -> str:
    return PurePosixPath(os.path.relpath(path, root)).as_posix()


def read(root: Path, rel: str) -> tuple[RunResult | None, list[Finding]]:
    """The file's result if it reads and validates, else its findings."""
    try:
        return load_result(os.path.join(root, rel)), []  # a string: pathlib's parsing costs more than the read
    except (UnsafeFile, OutdatedResult) as err:
        return None, [Finding(rel, "", str(err))]
    except ValidationError as err:
        return None, [Finding(rel, ".".join(map(str, e["loc"])), e["msg"]) for e in err.errors()]


def path_problems(rel: str, result: RunResult) -> list[tuple[str, str]]:
    """The path must be `<model dir>/<method slug>/<profile>/<task>.json`, as the content says."""
    fields = ["model.name", "method.slug", "profile", "task.name"]
    expected = [model_dirname(result.model.name), result.method.slug, result.profile, result.task.name]
    problems = [(f, f"{part!r} cannot be a path part (letters, digits, '.', '_', '+', '-')")
                for f, part in zip(fields, expected) if not PATH_PART.fullmatch(part) or part in (".", "..")]
    if problems:
        return problems
    parts = rel.split("/")
    if parts[-1][-5:] != ".json":
        problems.append(("", f"a result file's name ends in .json, not {parts[-1][-5:]!r}"))
    if len(parts) != 4:
        return problems + [("", f"belongs at {'/'.join(expected)}.json")]
    got = [*parts[:3], parts[3][:-5]]
    problems += [(f, f"is {want!r} in the file but {have!r} in its path")
                 for f, want, have in zip(fields, expected, got) if want != have]
    if result.method.name == "dense" and not parts[1].startswith("dense"):
        problems.append(("method.name", f"a dense result belongs in a dense folder, not {parts[1]!r}"))
    return problems


def check_file(root: Path, rel: str) -> tuple[RunResult | None, list[Finding]]:
    result, findings = read(root, rel)
    if result is not None:
        findings = [Finding(rel, f, m) for f, m in [*path_problems(rel, result), *content_problems(result),
                                                    *item_problems(root, rel, result)]]
    return (None if findings else result), findings[:MAX_FINDINGS_PER_FILE]


def duplicates(checked: Checked, parsed: dict[str, RunResult]) -> None:
    """One file per (model, method slug, profile, task), letter case ignored, by path and by content. Where
    exactly one of the files is otherwise valid (the others misplaced copies), only the copies are at fault:
    a stray copy cannot take its original off the leaderboard."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for rel in checked.files:
        groups.setdefault(("path", *rel.lower().removesuffix(".json").split("/")), []).append(rel)
    for rel, result in parsed.items():
        key = (model_dirname(result.model.name), result.method.slug, result.profile, result.task.name)
        groups.setdefault(("content", *(part.lower() for part in key)), []).append(rel)
    bad = set(checked.invalid)
    for paths in (paths for paths in groups.values() if len(paths) > 1):
        sound = [rel for rel in paths if rel not in bad]
        for rel in paths if len(sound) != 1 else set(paths) - set(sound):
            others = ", ".join(other for other in paths if other != rel)
            checked.findings.append(Finding(rel, "", f"the same result (model, method, profile, task) as {others}"))


def dense_parent_problems(rel: str, result: RunResult, checked: Checked) -> list[tuple[str, str]]:
    """A result other than the dense float one pairs with a valid dense file of this root that scored
    the same task version, data and profile, and whose score it quotes."""
    ref = result.dense_reference
    if ref is None:
        return [] if result.method.slug == "dense" else [("dense_reference", "missing: every result other than "
                                                          "the dense float one needs its dense parent")]
    target = PurePosixPath(ref.path)
    if target.is_absolute() or not all(PATH_PART.fullmatch(p) for p in target.parts):
        return [("dense_reference.path", "must be a relative path inside the submissions folder")]
    dense = checked.results.get(target.as_posix())
    if dense is None:
        return [("dense_reference.path", f"{ref.path} is not a valid result file in this folder")]
    problems = [("dense_reference.path", f"{ref.path} is a {dense.method.slug} result, not the dense parent")
                ] if dense.method.slug != "dense" else []
    problems += [(f, f"{attrgetter(f)(result)!r} differs from the dense parent's {attrgetter(f)(dense)!r}")
                 for f in PAIRED_FIELDS if attrgetter(f)(result) != attrgetter(f)(dense)]
    if not math.isclose(ref.main_score, dense.main_score, rel_tol=1e-9, abs_tol=1e-12):
        problems.append(("dense_reference.main_score", f"{ref.main_score!r} is not the dense parent's main score "
                                                       f"({dense.main_score!r})"))
    return problems or paired_item_problems(checked.root, rel, result, target.as_posix(), dense)


def check_root(root: Path) -> Checked:
    """Check every result file under `root`; `results` holds those that pass every check."""
    checked = Checked(Path(root))
    checked.files, checked.findings = candidates(checked.root)
    parsed: dict[str, RunResult] = {}
    for rel in checked.files:
        result, findings = check_file(checked.root, rel)
        checked.findings += findings
        if result is not None:
            parsed[rel] = result
    duplicates(checked, parsed)
    bad = set(checked.invalid)
    checked.results = {rel: result for rel, result in parsed.items() if rel not in bad}
    # Dense parents first, so a compressed result is judged against a dense file known to be sound.
    for rel, result in sorted(checked.results.items(), key=lambda item: item[1].method.slug != "dense"):
        problems = dense_parent_problems(rel, result, checked)
        checked.findings += [Finding(rel, f, m) for f, m in problems]
        if problems:
            del checked.results[rel]
    return checked


def check_path(path: Path) -> Checked:
    """A submissions folder, or one result file judged inside the folder four levels up (its dense parent
    and any duplicate live there)."""
    path = Path(path)
    if not os.path.lexists(path):
        raise BenchError(f"{path} does not exist")
    if path.is_dir():  # a folder the user names may be a link; links inside it are not followed
        return check_root(path)
    if len(path.parents) <= 3:  # too shallow to sit in a submissions folder: the file alone
        result, findings = check_file(path.parent, path.name)
        return Checked(path.parent, [path.name], {path.name: result} if result else {}, findings)
    root = path.parents[3]
    rel = _relative(root, path)
    checked = check_root(root)
    if rel not in checked.files:  # not a .json name, so the walk skipped it: read it all the same
        checked.files.append(rel)
        checked.findings += check_file(root, rel)[1]
    return Checked(root, [rel], {k: v for k, v in checked.results.items() if k == rel},
                   [f for f in checked.findings if f.path == rel])
