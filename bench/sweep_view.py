"""The one live view of a sweep: a line per job that ends (done, or failed with its one-line error), under a
status line (done, running, failed, time left) that a terminal redraws in place (bench.console)."""

from __future__ import annotations

from bench.console import PENDING, elapsed
from bench.sweep import Job, Log, Outcome


class SweepView:
    def __init__(self, jobs: list[Job], say: Log, slots: int) -> None:
        self.say, self.slots = say, slots
        self.total = len(jobs)
        self.done = self.failed = self.skipped_count = 0
        self.running: dict[int, Job] = {}
        self.seconds: list[float] = []  # of the jobs that ran

    def skipped(self, job: Job) -> None:
        self.skipped_count += 1
        self.done += 1

    def started(self, job: Job) -> None:
        if not self.running and self.skipped_count and not self.seconds and not self.failed:
            self.say(f"[sweep] {self.skipped_count} of {self.total} finished already (their results are kept)")
        self.running[job.number] = job
        self._status()

    def finished(self, job: Job, outcome: Outcome) -> None:
        self.running.pop(job.number, None)
        self.done += 1
        self.seconds.append(outcome.seconds)
        what = "dense parent" if job.dense else "cell"
        if outcome.error:
            self.failed += 1
            self.say(f"[sweep] FAILED {what} {job.number}/{self.total}: {job.label}: {outcome.error}")
        else:
            self.say(f"[sweep] done {what} {job.number}/{self.total} in {elapsed(outcome.seconds)}: {job.label}")
        if self.running:
            self._status()

    def left(self) -> str:
        """Time left: the mean time of the jobs that ran, for the ones still to end, `slots` at a time."""
        remaining = self.total - self.done
        if not self.seconds or not remaining:
            return "time left unknown until a job ends" if remaining else "nothing left"
        mean = sum(self.seconds) / len(self.seconds)
        return f"about {elapsed(mean * remaining / min(self.slots, remaining))} left"

    def summary(self) -> str:
        ran = self.done - self.skipped_count
        return (f"[sweep] {self.total} jobs: {ran - self.failed} ran, {self.failed} failed, "
                f"{self.skipped_count} finished already")

    def _status(self) -> None:
        running = list(self.running.values())
        now = f"; running: {running[0].label}" if len(running) == 1 else ""
        self.say(f"[sweep] {self.done - self.failed}/{self.total} done, {len(running)} running, {self.failed} "
                 f"failed, {self.left()}{now} {PENDING}")
