"""Where a sweep's jobs run: here, one at a time (`local`), or as Ray tasks (`ray`) with the resources of
their hardware profile (CPUs = its threads, one GPU for a CUDA profile, memory = its memory budget)."""

from __future__ import annotations

import os
import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import BenchError
from bench.profiles import PROFILES
from bench.sweep import Job, Log, Outcome, run_job

# What a worker must see as the driver does: offline switches, bench's cache, quiet tokenizers.
WORKER_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM",
              "BENCH_CACHE", "HF_HOME")
GIB = 2**30


class LocalExecutor:
    """Runs each job in this process when it is asked for the next outcome."""

    slots = 1

    def __init__(self, log: Log) -> None:
        self.log = log
        self._queue: list[Job] = []

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def next_done(self) -> tuple[Job, Outcome]:
        job = self._queue.pop(0)
        return job, run_job(job, self.log)

    def close(self) -> None:
        self._queue.clear()


def worker_env() -> dict[str, str]:
    """Environment variables of every Ray worker: the driver's offline switches and cache, and this checkout on
    the Python path (so a worker imports the same bench, plugins on PYTHONPATH included)."""
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return {"PYTHONPATH": path, **{name: os.environ[name] for name in WORKER_ENV if name in os.environ}}


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join the Ray cluster at `address`, or start one here (dashboard off). Started here, Ray's memory is this
    machine's, or the largest profile budget if that is more: a profile naming a bigger machine than this one
    still runs, one cell at a time. Returns whether Ray was started here (and is to be shut down after)."""
    try:
        import ray
    except ImportError:
        raise BenchError("--executor ray needs Ray: pip install 'bench[ray]'") from None
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report sent anywhere
    options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level="warning",
                                   runtime_env={"env_vars": worker_env()})
    if address is None:
        machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        budget = max(int(profile.memory_gb * GIB) for _, profile in PROFILES.items())
        options.update(num_cpus=num_cpus or os.cpu_count(), _memory=max(machine, budget))
    term = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(address=address, **options)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise BenchError(f"Ray did not start ({type(err).__name__}: {(str(err).splitlines() or [''])[0]})") from None
    if term is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, term)  # ray.init's own handler exits 15: bench's stops the sweep as Ctrl-C
    return address is None


def demand(job: Job) -> dict[str, float]:
    """A job's Ray resources, from its profile."""
    profile = PROFILES.get(job.request.profile)
    return {"CPU": float(profile.threads.torch or 1), "GPU": 1.0 if profile.device == "cuda" else 0.0,
            "memory": float(profile.memory_gb * GIB)}


def _amount(resource: str, value: float) -> str:
    return f"{value / GIB:.1f} GB memory" if resource == "memory" else f"{value:g} {resource}"


def _run_remote(job: Job) -> Outcome:
    lines: list[str] = []
    outcome = run_job(job, lambda line: lines.append(f"(ray worker {datetime.now():%H:%M:%S}) {line}"))
    outcome.lines = lines
    return outcome


class RayExecutor:
    """Each job a Ray task; at most as many in flight as the cluster fits (the rest wait here, in order)."""

    def __init__(self, jobs: list[Job], log: Log, address: str | None = None, num_cpus: int | None = None) -> None:
        self._flight: dict[Any, Job] = {}
        demands = {tuple(sorted(demand(job).items())) for job in jobs}
        self.started_here = connect(address, num_cpus)
        import ray

        self.ray, self.log = ray, log
        self._remote = ray.remote(_run_remote)
        cluster = ray.cluster_resources()
        for d in map(dict, demands):
            short = [_amount(r, d[r]) for r in d if d[r] > cluster.get(r, 0)]
            if short:  # Ray would wait for it forever
                have = ", ".join(_amount(r, cluster.get(r, 0)) for r in d)
                self.close()
                raise BenchError(f"a cell needs {', '.join(short)} (its profile's budget) and the Ray cluster "
                                 f"has {have}")
        first = demand(jobs[0]) if jobs else {"CPU": 1.0}
        self.slots = max(1, min(int(cluster.get(r, 0) // v) for r, v in first.items() if v > 0))

    def submit(self, job: Job) -> None:
        need = demand(job)
        ref = self._remote.options(num_cpus=need["CPU"], num_gpus=need["GPU"], memory=int(need["memory"]),
                                   max_retries=0).remote(job)
        self._flight[ref] = job

    def next_done(self) -> tuple[Job, Outcome]:
        (ref,), _ = self.ray.wait(list(self._flight), num_returns=1)
        job = self._flight.pop(ref)
        try:
            outcome = self.ray.get(ref)
        except Exception as err:  # noqa: BLE001 - the worker died (out of memory, killed): that job failed
            return job, Outcome(error=f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}")
        for line in outcome.lines:
            self.log(line)
        return job, outcome

    def close(self) -> None:
        for ref in self._flight:
            self.ray.cancel(ref, force=True)
        self._flight.clear()
        if self.started_here:
            self.ray.shutdown()
            self.started_here = False
