"""SIGTERM handled as Ctrl-C: a job started with `&` from a script or CI ignores SIGINT, so `kill PID` is how it is
stopped, and TERM's default would end it without closing its executor or saying how to resume."""

from __future__ import annotations

import signal
import threading
from typing import Callable


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def term_as_interrupt() -> Callable[[], None]:
    """Handle SIGTERM as Ctrl-C until the returned function puts the previous handler back. Nothing changes
    off the main thread (Python cannot set a handler there) or where the parent chose to ignore SIGTERM."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is signal.SIG_IGN:
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _interrupt)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
