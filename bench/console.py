"""What `bench run` shows: one line per step, live with its elapsed time on a terminal, while the
engines' own output (python warnings, logging, tqdm bars, anything written to file descriptors 1
and 2 by C code) goes to a log file."""

from __future__ import annotations

import io
import os
import shutil
import sys
import threading
import time
import traceback
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Iterator, TextIO

from bench import BenchError

PENDING = "..."  # a log line ending in this is a step in progress: its outcome's line replaces it on a terminal
TICK_SECONDS = 1.0


def default_log_path(cache: Path) -> Path:
    return cache / "logs" / f"run-{datetime.now():%Y%m%d-%H%M%S}.log"


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


class RunConsole:
    """The `log` callable of a run, and (as a context manager) the capture of engine output into
    `log_path` while the run executes. With `log_path=None` (--verbose) nothing is captured."""

    def __init__(self, log_path: Path | None) -> None:
        self.log_path = log_path
        self.captured = False  # whether engine output went to the log (the run got as far as executing)
        self._user: TextIO = sys.stderr
        self._log: TextIO | None = None
        self._live = False  # redraw the pending line with a ticking clock (a terminal, engines quiet)
        self._pending: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._exits = ExitStack()

    def __call__(self, line: str) -> None:
        with self._lock:
            if self._log:
                self._log.write(f"{datetime.now():%H:%M:%S} {line}\n")
                self._log.flush()
            self._erase_pending()
            if self._live and line.endswith(PENDING):
                self._pending = (line, time.monotonic())
                self._draw_pending()
            else:
                self._user.write(line + "\n")
                self._user.flush()

    def note(self, line: str) -> None:
        """A line for the log file only (with nothing captured, -v: for the terminal)."""
        if not self.captured:
            return self(line)
        with self._lock:
            self._log.write(f"{datetime.now():%H:%M:%S} {line}\n")
            self._log.flush()

    def __enter__(self) -> RunConsole:
        if self.log_path is None:
            return self
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "a", encoding="utf-8", errors="replace")
        except OSError as err:
            raise BenchError(f"cannot write the log file {self.log_path}: {err.strerror}") from None
        self._log = self._exits.enter_context(log)
        self._user = self._exits.enter_context(redirect_output(self._log))
        self.captured = True
        self._live = self._user.isatty()
        if self._live:
            ticker = threading.Thread(target=self._tick, daemon=True)
            ticker.start()
            self._exits.callback(ticker.join)
            self._exits.callback(self._stop.set)
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._lock:
            self._erase_pending()
            self._live = False
            if self._log and err is not None and not isinstance(err, BenchError):
                self._log.write("".join(traceback.format_exception(kind, err, tb)))
        self._exits.close()
        self._user = sys.stderr

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            with self._lock:
                if self._pending:
                    self._draw_pending()

    def _draw_pending(self) -> None:
        line, started = self._pending
        clock = f" {elapsed(time.monotonic() - started)}"
        width = shutil.get_terminal_size().columns - len(clock) - 1
        shown = line if len(line) <= width else line[:max(width - 1, 0)] + "…"
        self._user.write(f"\r\x1b[K{shown}{clock}")
        self._user.flush()

    def _erase_pending(self) -> None:
        if self._pending:
            self._user.write("\r\x1b[K")
            self._pending = None


@contextmanager
def redirect_output(log: TextIO) -> Iterator[TextIO]:
    """File descriptors 1 and 2, and sys.stdout and sys.stderr, write to `log` while entered; yields a
    stream to where stderr went before (the user's terminal, or a test runner's capture)."""
    sys.stdout.flush()
    sys.stderr.flush()
    streams = sys.stdout, sys.stderr
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    user = _stream_to_copy(sys.stderr, saved)
    try:
        for fd in saved:
            os.dup2(log.fileno(), fd)
        # Wrappers over the descriptors, never closed: a logging handler created meanwhile keeps
        # writing to descriptor 2, which is the terminal again afterwards.
        sys.stdout, sys.stderr = (open(fd, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
                                  for fd in saved)
        yield user
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        if user is not streams[1]:
            user.close()


def _stream_to_copy(stream: TextIO, saved: dict[int, int]) -> TextIO:
    """A stream over the saved copy of the descriptor behind `stream`; a stream without a redirected
    descriptor (click's test runner writes into memory) is used as it is."""
    try:
        fd = stream.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return stream
    if fd not in saved:
        return stream
    return open(os.dup(saved[fd]), "w", buffering=1, encoding="utf-8", errors="replace")
