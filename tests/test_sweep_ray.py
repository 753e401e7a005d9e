"""`bench sweep --executor ray` on a Ray started here once for the module (num_cpus=2): the same result files and
byte-identical scores as the local executor on a 2 x 2 grid."""

import signal

import pytest
import ray  # the `test` extra installs it, as `make test` does

from bench.executors import connect
from tests.test_sweep import invoke, scores, write_grid


def bench_handler(signum, frame):
    raise KeyboardInterrupt


@pytest.fixture(scope="module")
def ray_here():
    """Ray started here; yields the SIGTERM handler left in place by `connect`, called with bench's installed."""
    own = signal.signal(signal.SIGTERM, bench_handler)
    try:
        assert connect(num_cpus=2)  # started here: workers get the offline switches, BENCH_CACHE and this checkout
        left = signal.getsignal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, own)
    yield left
    ray.shutdown()


def test_starting_ray_keeps_the_sigterm_handler_it_found(ray_here):
    assert ray_here is bench_handler  # ray.init's own exits 15: a killed sweep would not say how to resume


def test_ray_and_local_sweeps_write_the_same_results(ray_here, tiny_llama_dir, tmp_path):
    grid = write_grid(tmp_path, tiny_llama_dir)
    local = invoke("sweep", grid, "--out", tmp_path / "local")
    remote = invoke("sweep", grid, "--out", tmp_path / "ray", "--executor", "ray")
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    assert "5 jobs: 5 ran, 0 failed" in remote.output
    assert len(scores(tmp_path / "local")) == 5
    assert scores(tmp_path / "ray") == scores(tmp_path / "local")


def test_a_cell_ray_cannot_fit_is_refused_before_anything_runs(ray_here, tiny_llama_dir, tmp_path):
    grid = write_grid(tmp_path, tiny_llama_dir)
    grid.write_text(grid.read_text() + "  profile: a100-80g\n")
    result = invoke("sweep", grid, "--out", tmp_path / "out", "--executor", "ray")
    assert result.exit_code == 2 and "1 GPU" in result.output
