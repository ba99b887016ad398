"""A process's signals as events, caught from the first moment of a job (standard library only, so that the command
line can install them before its heavier imports):

- SIGINT / SIGTERM set :data:`STOP`: every state, start-up included, ends with a summary and a normal exit;
- SIGHUP sets :data:`REOPEN`: output files are closed and opened again at the same paths (the logrotate convention:
  rotate, then send SIGHUP), and the run goes on.
"""

from __future__ import annotations

import signal
import threading

#: set by SIGINT / SIGTERM once :func:`catch_stop_signals` ran
STOP = threading.Event()
#: set by SIGHUP; cleared by whoever reopened the outputs
REOPEN = threading.Event()
_installed = False


def catch_stop_signals() -> threading.Event:
    """Route SIGINT and SIGTERM to :data:`STOP` and SIGHUP to :data:`REOPEN` (main thread only; idempotent)."""
    global _installed
    if not _installed and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: STOP.set())
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda *_: REOPEN.set())
        _installed = True
    return STOP
