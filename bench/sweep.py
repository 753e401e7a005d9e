"""A sweep as jobs: the dense parents (one per model, task and profile, shared by every cell that needs them)
and the grid's cells, each one `bench run` request executed through the runner, so resuming by config hash
works as it does for `bench run`; and what each job has left to compute."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

from bench import BenchError, recipes
from bench.methods.base import make_method
from bench.planning import Plan, RunRequest, pending, plan, task_data
from bench.runner import execute
from bench.taskspec import TaskSpec, load_include_paths

Log = Callable[[str], None]


@dataclass
class Job:
    """A dense parent (`needs` empty) or a cell, which runs after the dense parents it `needs`."""

    number: int  # 1-based, in the order they are listed
    request: RunRequest
    label: str
    dense: bool = False
    needs: list[int] = field(default_factory=list)  # numbers of the dense jobs it waits for
    todo: int = 0  # results it has still to write (0: finished)
    total: int = 0
    include_paths: list[str] = field(default_factory=list)  # task folders a worker process loads first


@dataclass
class Outcome:
    error: str | None = None  # one line; None: it succeeded
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list)  # the job's own progress lines (a remote worker's)


def plan_jobs(requests: list[RunRequest], include_paths: list[str] = ()) -> list[Job]:
    """Dense parents first (deduplicated by model, task, profile and --limit; embedding variants merged), then
    the cells in order. Every request is planned here, so bad input fails before anything runs."""
    plans = [plan(request) for request in requests]
    data: dict[str, recipes.TaskData] = {}
    dense_jobs: dict[tuple, Job] = {}
    cells = []
    for request, p in zip(requests, plans):
        needs = []
        for ref, specs in p.groups:
            for spec in specs:
                key = (ref.name, spec.name, p.profile.name, request.limit, str(request.out))
                job = dense_jobs.get(key)
                embed = request.embed if spec.is_retrieval else None
                if job is None:
                    job = dense_jobs[key] = Job(0, _dense_request(request, spec, embed), "", dense=True)
                elif embed:
                    merged = ",".join(dict.fromkeys(_items(job.request.embed) + _items(embed)))
                    job.request = replace(job.request, embed=merged)
                needs.append(key)
        cells.append((request, p, needs))
    jobs = list(dense_jobs.values())
    for number, job in enumerate(jobs, 1):
        job.number, job.label = number, describe(job.request)
    numbers = {key: job.number for key, job in dense_jobs.items()}
    for request, p, needs in cells:
        jobs.append(Job(len(jobs) + 1, request, describe(request), needs=sorted({numbers[k] for k in needs})))
    for job in jobs:
        job.include_paths = list(include_paths)
        p = plan(job.request) if job.dense else plans[job.number - len(dense_jobs) - 1]
        job.todo, job.total = unfinished(job.request, p, data)
    return jobs


def _dense_request(request: RunRequest, spec: TaskSpec, embed: str | None) -> RunRequest:
    """The dense parent's run of one task; calibration and seeds do not change a dense result."""
    return RunRequest(method="dense", model=request.parent or request.model, tasks=[spec.name],
                      profile=request.profile, out=request.out, force=request.force, limit=request.limit,
                      trust_remote_code=request.trust_remote_code, embed=embed)


def unfinished(request: RunRequest, p: Plan, data: dict[str, recipes.TaskData]) -> tuple[int, int]:
    """(results still to write, results in all) of the request's own method: the compressed ones, or the
    dense ones for `dense` and for a model without weights (only its reference row runs)."""
    todo = total = 0
    for ref, specs in p.groups:
        for spec in specs:
            if spec.name not in data:
                data[spec.name] = task_data(spec)
        method = p.method if p.method.name == "dense" or ref.weights else make_method("dense", {})
        slug_of, _, _, missing = pending(request, p, ref, method, specs, data, lambda _line: None)
        todo, total = todo + sum(len(v) for v in missing.values()), total + len(slug_of)
    return todo, total


def run_job(job: Job, log: Log) -> Outcome:
    """Run one job here (in this process, or in a Ray worker); an error becomes its one-line outcome."""
    started = time.perf_counter()
    try:
        load_include_paths(job.include_paths)
        # a cell's dense parents ran as jobs of their own (forced there once, with --force)
        execute(job.request, plan(job.request), log, force_dense=None if job.dense else False)
    except Exception as err:  # noqa: BLE001 - one failed cell is reported, and the others go on
        log("".join(traceback.format_exception(err)).rstrip())
        first = (str(err).splitlines() or [""])[0]
        text = first if isinstance(err, BenchError) else f"{type(err).__name__}: {first}"
        return Outcome(error=text, seconds=time.perf_counter() - started)
    return Outcome(seconds=time.perf_counter() - started)


def describe(request: RunRequest) -> str:
    """The request as `bench run` options (what is not given left out)."""
    options = {"model": request.model, "parent": request.parent, "method": request.method,
               **request.method_params, "suite": request.suite,
               "tasks": ",".join(request.tasks) if request.tasks else None, "embed": request.embed,
               "profile": request.profile if request.profile != "cpu-2c" else None, "limit": request.limit,
               "calib_samples": request.calib_samples, "calib_seqlen": request.calib_seqlen,
               "calib_source": request.calib_source, "seed": request.seed,
               "seeds": ",".join(map(str, request.seeds)) if request.seeds else None}
    words = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        words.append(f"--{key.replace('_', '-')}" + ("" if value is True else f" {value}"))
    return " ".join(words)


def _items(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class Executor(Protocol):
    slots: int  # jobs it runs at once

    def submit(self, job: Job) -> None: ...
    def next_done(self) -> tuple[Job, Outcome]: ...
    def close(self) -> None: ...


class View(Protocol):
    def skipped(self, job: Job) -> None: ...
    def started(self, job: Job) -> None: ...
    def finished(self, job: Job, outcome: Outcome) -> None: ...


def run_jobs(jobs: list[Job], executor: Executor, view: View) -> list[tuple[Job, Outcome]]:
    """Every job with results to write, in order, as many at once as the executor runs, each cell once its
    dense parents are done; a failed job does not stop the others. Returns the failed ones."""
    done = {job.number for job in jobs if not job.todo}
    for job in jobs:
        if not job.todo:
            view.skipped(job)
    queue = [job for job in jobs if job.todo]
    flying: set[int] = set()
    failed = []
    try:
        while queue or flying:
            for job in [job for job in queue if set(job.needs) <= done][:executor.slots - len(flying)]:
                queue.remove(job)
                executor.submit(job)
                flying.add(job.number)
                view.started(job)
            job, outcome = executor.next_done()
            flying.discard(job.number)
            done.add(job.number)
            view.finished(job, outcome)
            if outcome.error:
                failed.append((job, outcome))
    finally:
        executor.close()
    return failed
