"""Stop requests (SIGINT / SIGTERM) as an event, caught from the first moment of a job: every state, start-up
included, ends with a summary and a normal exit."""

from __future__ import annotations

import signal
import threading

#: set by SIGINT / SIGTERM once :func:`catch_stop_signals` ran
STOP = threading.Event()
_installed = False


def catch_stop_signals() -> threading.Event:
    """Route SIGINT and SIGTERM to :data:`STOP` (main thread only; idempotent)."""
    global _installed
    if not _installed and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: STOP.set())
        _installed = True
    return STOP
