"""The shortcuts that make `bench validate` cheap at 10,000 files give the answers of the slow ways: the
machine-path scan's quick pass (JSON pieces, or a walk where the JSON holds an escape) misses no string the
regex flags, and a capped read in pieces still stops at the cap."""

from __future__ import annotations

import json
import os

import pytest

from bench.provenance_checks import MACHINE_PATH, path_problems
from bench.safe_json import _read_to_end
from bench.schema import RunResult
from submissions import wanda_data

TEXTS = ["/etc/passwd", "..", "a/../b", "org/model", "C:\\models\\m", 'say "/home/me"', "line\n/tmp/x", "x\\..",
         "~/corpus", "plain words", "ünïcode /root", "tab\t/abs", "\x00/nul", "a/b/c.json", "..hidden", "\\"]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("field", ["notes", "source"])
def test_the_quick_pass_flags_a_field_exactly_when_the_regex_does(text, field):
    result = RunResult.model_validate_json(json.dumps(wanda_data()), strict=True)
    result = result.model_copy(update={"model": result.model.model_copy(update={field: text})})
    flagged = [where for where, _ in path_problems(result)]
    assert flagged == ([f"model.{field}"] if MACHINE_PATH.search(text) else []), (text, flagged)


def test_a_capped_read_in_pieces_reads_to_the_end_and_never_past_the_cap(tmp_path):
    path = tmp_path / "grown.json"
    path.write_bytes(b"x" * 200_000)
    fd = os.open(path, os.O_RDONLY)
    try:  # an `expected` size far below the real one, as for a file that grew after lstat
        assert len(_read_to_end(fd, 1_000_000, 10)) == 200_000
        os.lseek(fd, 0, os.SEEK_SET)
        assert len(_read_to_end(fd, 150_001, 10)) == 150_001
    finally:
        os.close(fd)
