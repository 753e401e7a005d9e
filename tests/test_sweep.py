"""`bench sweep`: the matrix, the grid file, the local executor end to end on a tiny model (dense parent once,
resume after a kill, a failed cell does not stop the others), and the seeded grid against the Makefile."""

import json
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench import backends
from bench.cli import cli
from bench.grid import load_grid
from bench.matrix import expand
from bench.methods.llm import random_pruning

GRID = """
matrix:
  model: {model}
  tasks: wiki_ppl
  limit: 2
  method: {methods}
  sparsity: {sparsities}
"""


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write_grid(tmp_path: Path, model: Path, methods: str = "[magnitude, random]", sparsities: str = "[0.3, 0.6]") -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(model=model, methods=methods, sparsities=sparsities))
    return path


def scores(out: Path) -> dict[str, str]:
    """Each result's scores by path, as JSON text (byte for byte)."""
    found = {}
    for path in sorted(out.rglob("*.json")):
        if not path.name.endswith(".items.json"):
            data = json.loads(path.read_text())
            found[path.relative_to(out).as_posix()] = json.dumps([data["main_score"], data["metrics"]])
    return found


def test_the_matrix_follows_github_actions():
    rows = expand({"fruit": ["apple", "pear"], "animal": ["cat", "dog"],
                   "exclude": [{"fruit": "pear", "animal": "dog"}],
                   "include": [{"color": "green"}, {"color": "pink", "animal": "cat"},
                               {"fruit": "apple", "shape": "circle"}, {"fruit": "banana"},
                               {"fruit": "banana", "animal": "cat"}]})
    assert rows == [{"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
                    {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
                    {"fruit": "pear", "animal": "cat", "color": "pink"},
                    {"fruit": "banana"}, {"fruit": "banana", "animal": "cat"}]
    nested = expand({"model": "m", "variant": [{"method": ["a", "b"], "bits": 4}, {"method": "c"}]})
    assert nested == [{"model": "m", "method": "a", "bits": 4}, {"model": "m", "method": "b", "bits": 4},
                      {"model": "m", "method": "c"}]


@pytest.mark.parametrize("text,message", [
    ("matrix: {method: wanda, sparsty: [0.5]}", "unknown key 'sparsty' (did you mean 'sparsity'?)"),
    ("matrix: {method: wanda, pattern: 2:4}", "quote it, e.g. '2:4'"),
    ("matrix: {method: wanda}\nmatrx: {}", "unknown key 'matrx'"),
    ("matrix: {method: [[a, b]]}", "a list inside a list"),
    ("matrix: {method: wandaa}", "unknown method 'wandaa' (did you mean 'wanda'"),
    ("matrix: {method: magnitude, suite: kick, tasks: capitals_mc}", "give --suite or --tasks, not both"),
])
def test_a_bad_grid_is_one_line_and_exit_2(tmp_path, text, message):
    (tmp_path / "grid.yaml").write_text(text)
    result = invoke("sweep", tmp_path / "grid.yaml", "--dry-run", "--out", tmp_path / "out")
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


class TermNotHandled(Exception):
    pass


def _term_not_handled(signum, frame):
    raise TermNotHandled  # the test's own handler: bench did not install one, and the run fails rather than dies


def ctrl_c() -> None:
    raise KeyboardInterrupt


def sigterm() -> None:  # as `kill PID` on a sweep started in the background, where SIGINT is ignored
    signal.raise_signal(signal.SIGTERM)


@pytest.mark.parametrize("stop", [ctrl_c, sigterm])
def test_local_sweep_runs_the_dense_parent_once_and_resumes_after_a_kill(tiny_llama_dir, tmp_path, monkeypatch, stop):
    grid, out = write_grid(tmp_path, tiny_llama_dir, methods="magnitude"), tmp_path / "out"
    real_evaluate, calls = backends.evaluate, []

    def killed_after_two(spec, model, *args):
        if len(calls) == 2:  # the dense parent and the first cell are written: the sweep is stopped
            stop()
        calls.append(model.info.name)
        return real_evaluate(spec, model, *args)

    monkeypatch.setattr(backends, "evaluate", killed_after_two)
    own = signal.signal(signal.SIGTERM, _term_not_handled)
    try:
        killed = invoke("sweep", grid, "--out", out)
        assert signal.getsignal(signal.SIGTERM) is _term_not_handled  # bench put the previous handler back
    finally:
        signal.signal(signal.SIGTERM, own)
    assert killed.exit_code == 130 and "run the same command again to resume" in killed.output, killed.output
    first = out / "local__tiny-llama0/magnitude-sp0.3/cpu-2c/wiki_ppl.json"
    before = first.stat()

    dry = invoke("sweep", grid, "--out", out, "--dry-run")
    assert dry.exit_code == 0 and "2 jobs finished, 1 to run" in dry.output
    assert [line.split()[2] for line in dry.output.splitlines()[:3]] == ["finished", "finished", "0/1"]

    monkeypatch.setattr(backends, "evaluate", lambda *args: calls.append("again") or real_evaluate(*args))
    resumed = invoke("sweep", grid, "--out", out)
    assert resumed.exit_code == 0, resumed.output
    assert calls.count("again") == 1  # the cell left; neither the dense parent nor the first cell again
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(scores(out)) == sorted(f"local__tiny-llama0/{slug}/cpu-2c/wiki_ppl.json" for slug in
                                         ["dense", "magnitude-sp0.3", "magnitude-sp0.6"])
    assert "3 jobs: 1 ran, 0 failed, 2 finished already" in resumed.output


def test_a_failed_cell_is_reported_and_the_others_go_on(tiny_llama_dir, tmp_path, monkeypatch):
    def broken(*args):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(random_pruning.Random, "compress_weight", broken)
    out = tmp_path / "out"
    result = invoke("sweep", write_grid(tmp_path, tiny_llama_dir, "[random, magnitude]", "0.3"), "--out", out)
    assert result.exit_code == 1  # random failed, and magnitude, after it, still ran
    assert result.output.count("RuntimeError: boom") == 2  # the failed cell's live line and the final list
    assert "second line" not in result.output and "Traceback" not in result.output
    assert {path.split("/")[1] for path in scores(out)} == {"dense", "magnitude-sp0.3"}


# What the Makefile's `submissions` target ran before grids/seeded.yaml, one `bench run` per line, in order (with
# LIMIT's paper protocol and storage ceiling, which came with the grid).
VECTORS = "truncate:128,truncate:64,int8,binary,binary+rescore:40,pca:64,pq:16,rp:64"
LLM_VARIANTS = ["--method magnitude,wanda,sparsegpt --sparsity 0.5", "--method rtn,gptq --bits 4",
                "--method magnitude,wanda,sparsegpt,random --sparsity 0.3,0.7 --pattern 2:4",
                "--method random --sparsity 0.5", "--method rtn,gptq --bits 8",
                "--method sparsegpt --pattern 2:4 --bits 4", "--method lowrank"]
MAKEFILE_RUNS = ([f"--model minilm-l6 --method magnitude --sparsity 0.5 --suite retrieval --embed {VECTORS}"]
                 + [f"--model smollm2-135m --tasks wiki_ppl,capitals_mc {v}" for v in LLM_VARIANTS]
                 + [f"--model smollm2-135m --suite kick {v}" for v in LLM_VARIANTS]
                 + [f"--model minilm-l6 --method magnitude --sparsity 0.5 --tasks limit_small,limit --embed {VECTORS}",
                    "--method dense --tasks limit_free_embedding,limit_free_embedding_paper,limit_storage_ceiling"])


def test_the_seeded_grid_plans_the_results_the_makefile_made(monkeypatch):
    """The same results (model, method and params, profile, vectors, task), so the same config hashes: the
    results already in submissions/ are reused. Compared task by task, since SparseGPT's smoke and kick cells
    became one cell (its calibrations run once), and a task two cells share is one result."""
    import dataclasses

    from bench import runner
    from bench.taskspec import resolve_tasks

    captured = []
    monkeypatch.setattr(runner, "run_all", lambda requests, **_kw: captured.extend(requests) or [])
    for line in MAKEFILE_RUNS:
        assert invoke("run", *line.split(), "--out", "submissions").exit_code == 0

    def results(requests):
        planned = set()
        for request in requests:
            given = {k: v for k, v in sorted(request.method_params.items()) if v is not None}
            variant = repr(dataclasses.replace(request, method_params=given, suite=None, tasks=None))
            planned |= {(variant, spec.name) for spec in resolve_tasks(request.suite, request.tasks)}
        return planned

    grids = Path(__file__).parent.parent / "grids"
    cells = load_grid(grids / "seeded.yaml") + load_grid(grids / "seeded-limit.yaml")  # `make submissions`' order
    planned = results([cell.request(Path("submissions")) for cell in cells])
    assert planned == results(captured)
    assert len(planned) == 22 * 6 + 5 + 3  # LLM variants x (smoke + kick tasks), the encoder's tasks, free embeddings


def test_the_readme_grid_expands_as_the_readme_says(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("## Sweeps"):]
    (tmp_path / "grid.yaml").write_text(section[section.index("```yaml\n") + 8:section.index("```\n", 10)])
    cells = load_grid(tmp_path / "grid.yaml")
    assert len(cells) == 2 * 2 * 4 - 4 + 1  # models x methods x levels, less 360M's magnitude, plus the rtn cell
    assert all((cell.seeds == "0,1,2,3,4") == (cell.method == "wanda") for cell in cells)
    assert cells[-1].model_dump(exclude_defaults=True) == {"model": "minilm-l6", "method": "rtn", "bits": 4,
                                                          "suite": "retrieval"}
    assert [cell.pattern for cell in cells[:4]] == [None, None, None, "2:4"]
