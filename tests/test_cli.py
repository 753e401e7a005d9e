"""The CLI's handling of bad input: one line, exit code 2, no traceback; interrupts: exit 130."""

import signal

import pytest
from click.testing import CliRunner

from bench.cli import cli


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("args,expected", [
    (["run", "--method", "wandaa"], "unknown method 'wandaa' (did you mean 'wanda'"),
    (["run", "--tasks", "wiki_pll"], "unknown task 'wiki_pll' (did you mean 'wiki_ppl'"),
    (["run", "--profile", "cpu-2"], "unknown profile 'cpu-2' (did you mean 'cpu-2c', 'cpu-16c'?)"),
    (["run", "--suite", "smok"], "unknown suite 'smok' (did you mean 'smoke'?)"),
    (["run", "--suite", "kick", "--tasks", "capitals_mc"], "give --suite or --tasks, not both"),
    (["run", "--model", "smollm"], "unknown model 'smollm'"),
    (["run", "--sparsity", "1.0"], "sparsity must be in [0, 1)"),
    (["run", "--pattern", "4:4"], "pattern must be N:M with 0 < N < M"),
    (["run", "--method", "magnitude", "--pattern", "2-4"], "pattern must be N:M"),
    (["run", "--method", "dense", "--sparsity", "0.5"], "method 'dense' takes no sparsity"),
    (["run", "--method", "rtn", "--bits", "9"], "bits must be in 2..8, got 9"),
    (["run", "--method", "sparsegpt", "--bits", "1"], "bits must be in 2..8, got 1"),
    (["run", "--method", "wanda", "--schedule", "0.9"], "schedule must be FIRST:LAST"),
    (["run", "--method", "lowrank", "--rank-ratio", "1.5"], "rank ratio must be in (0, 1]"),
    (["run", "--method", "none", "--label", "x", "--model", "minilm-l6"], "needs its dense --parent"),
    (["run", "--method", "none", "--label", "a b", "--model", "x", "--parent", "y"], "label must be letters"),
    (["run", "--model", "bm25", "--tasks", "limit_small", "--embed", "int8"], "BM25 ranks by term statistics"),
    (["run", "--model", "bm25", "--tasks", "lee_sts"], "none of the tasks (lee_sts) takes one"),
    (["run", "--method", "magnitude", "--seeds", "0,1,2"], "magnitude does not depend on the seed"),
    (["run", "--method", "rtn", "--seeds", "0,1,2"], "rtn does not depend on the seed"),
    (["run", "--method", "lowrank", "--seeds", "0,1"], "lowrank does not depend on the seed"),
    (["run", "--method", "dense", "--seeds", "0,1"], "dense does not depend on the seed"),
    (["run", "--seeds", "0,one"], "--seeds takes integers, comma-separated"),
    (["run", "--seeds", "1,1"], "--seeds lists a seed twice"),
    (["run", "--seeds", "3"], "--seeds takes two or more seeds"),
    (["run", "--seed", "1", "--seeds", "0,1"], "give --seed or --seeds, not both"),
])
def test_bad_input_exits_2_with_one_line(args, expected):
    result = invoke(*args)
    assert result.exit_code == 2
    assert expected in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert isinstance(result.exception, SystemExit)


def test_an_interrupted_command_exits_130_and_says_how_to_resume(monkeypatch):
    from bench import runner

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt  # Ctrl-C, or SIGTERM (bench handles it as Ctrl-C)

    monkeypatch.setattr(runner, "run_all", interrupted)
    result = invoke("run", "--method", "magnitude")
    assert result.exit_code == 130 and "run the same command again to resume" in result.output


def test_sigterm_is_left_alone_where_the_parent_ignores_it():
    from bench.interrupts import term_as_interrupt

    own = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        restore = term_as_interrupt()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        restore()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        restore = term_as_interrupt()
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        restore()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, own)


def test_ls_lists_registered_names():
    assert {"dense", "magnitude", "wanda"} <= {line.split()[0] for line in invoke("ls", "methods").output.splitlines()}
    assert "smoke" in invoke("ls", "suites").output
    assert "cpu-2c" in invoke("ls", "profiles").output
    assert invoke("ls", "gadgets").exit_code == 2


def test_validate_reports_bad_files(tmp_path):
    (tmp_path / "bad.json").write_text('{"schema_version": 1}')
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 1 and "0 valid, 1 invalid" in result.output
