"""What `bench run` shows the user: its own progress, the table and the paths; the engines' output
(progress bars, warnings, C-level writes) goes to a log file named at the end."""

import io
import os
import sys
import time

import pytest
from click.testing import CliRunner

from bench import BenchError, backends, console
from bench.cli import cli

ENGINE_BARS = ("Running loglikelihood requests", "it/s]", "Loading weights", "model kwarg is not of type")


def test_a_run_shows_progress_table_and_paths_while_engine_output_goes_to_the_log(tiny_llama_dir, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    result = CliRunner().invoke(cli, ["run", "--method", "magnitude", "--model", str(tiny_llama_dir),
                                      "--tasks", "capitals_mc", "--limit", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    shown = result.output
    assert not [bar for bar in ENGINE_BARS if bar in shown], shown
    (log,) = (tmp_path / "cache" / "logs").glob("run-*.log")
    assert f"[dense] local/{tiny_llama_dir.name} capitals_mc: evaluating..." in shown
    assert f"[magnitude-sp0.5] local/{tiny_llama_dir.name}: compressing..." in shown
    assert f"[magnitude-sp0.5] local/{tiny_llama_dir.name} capitals_mc: acc = " in shown
    assert "retained_pct" in result.stdout and "magnitude-sp0.5" in result.stdout  # the table
    assert f"results: {out.resolve()}" in result.stdout and f"engine output: {log}" in result.stdout
    logged = log.read_text()
    assert "Running loglikelihood requests" in logged and "Loading weights" in logged
    assert f"[magnitude-sp0.5] local/{tiny_llama_dir.name} capitals_mc: evaluating..." in logged  # progress, for context


def noisy_engine(error: Exception | None):
    """An engine that writes the ways real ones do (python streams, print, C-level fd 2), then fails or not."""
    def evaluate(spec, *_args):
        sys.stderr.write("python-level engine noise\n")
        print("stdout engine noise")
        os.write(2, b"fd-level engine noise\n")
        if error:
            raise error
        return backends.TaskOutcome(metrics={spec.main_metric: 0.5}, n_items=1, engine_version="fake 0")
    return evaluate


@pytest.mark.parametrize("error,exit_code", [(RuntimeError("engine broke\nsecond line"), 1),
                                             (BenchError("upstream task could not run"), 2)])
def test_a_failure_prints_one_line_and_points_to_the_log(tiny_llama_dir, tmp_path, monkeypatch, error, exit_code):
    monkeypatch.setattr(backends, "evaluate", noisy_engine(error))
    log = tmp_path / "run.log"
    result = CliRunner().invoke(cli, ["run", "--method", "magnitude", "--model", str(tiny_llama_dir), "--tasks",
                                      "capitals_mc", "--out", str(tmp_path / "out"), "--log", str(log)])
    assert result.exit_code == exit_code
    error_line = result.stderr.strip().splitlines()[-1]
    assert error_line.startswith("Error: ") and str(error).splitlines()[0] in error_line and str(log) in error_line
    assert "noise" not in result.output and "Traceback" not in result.output
    logged = log.read_text()
    assert all(f"{where} engine noise" in logged for where in ("python-level", "stdout", "fd-level"))
    assert ("Traceback" in logged) == (exit_code == 1)  # an unexpected error's traceback is kept for a report


def test_verbose_shows_engine_output_live_and_writes_no_log(tiny_llama_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(backends, "evaluate", noisy_engine(None))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["run", "-v", "--method", "magnitude", "--model", str(tiny_llama_dir),
                                      "--tasks", "capitals_mc", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "python-level engine noise" in result.output and "stdout engine noise" in result.output
    assert "engine output:" not in result.output and not (tmp_path / "cache" / "logs").exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_step_ticks_and_its_outcome_replaces_it(tmp_path, monkeypatch):
    monkeypatch.setattr(console, "TICK_SECONDS", 0.01)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with console.RunConsole(tmp_path / "run.log") as say:
        say("[dense] m task: evaluating...")
        deadline = time.monotonic() + 10
        while terminal.getvalue().count("evaluating...") < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert terminal.getvalue().count("evaluating...") >= 3  # drawn, then redrawn by the ticker
        say("[dense] m task: acc = 0.5 in 1 s")
    drawn = terminal.getvalue()
    assert "\r\x1b[K[dense] m task: evaluating... 0:00" in drawn
    assert drawn.endswith("\r\x1b[K[dense] m task: acc = 0.5 in 1 s\n")  # the step's line erased, not kept
    assert "evaluating..." in (tmp_path / "run.log").read_text()


def test_elapsed_reads_as_a_clock():
    assert [console.elapsed(s) for s in (0.4, 75, 3725)] == ["0:00", "1:15", "1:02:05"]
