"""A service manager's view of a stream: systemd's notify protocol (readiness, watchdog, stopping), spoken directly.

The protocol is one datagram per message to the AF_UNIX socket named by ``NOTIFY_SOCKET`` (a leading ``@`` is the
abstract namespace), so it needs no dependency. The watchdog pings (``WATCHDOG=1``) at half of ``WATCHDOG_USEC``, as
systemd advises, and only while the pipeline makes progress: a stalled stream stops the pings and the service manager
restarts it. Outside a service (no ``NOTIFY_SOCKET``) everything here does nothing.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping


def notify_address(env: Mapping[str, str] = os.environ) -> str | None:
    """The notify socket's address (abstract names with a leading NUL), or None outside a notify service."""
    path = env.get("NOTIFY_SOCKET")
    if not path:
        return None
    return "\0" + path[1:] if path.startswith("@") else path


def notify(message: str, env: Mapping[str, str] = os.environ) -> bool:
    """Send one notify message (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``); False when there is no socket or the
    service manager is gone (a stream never fails for it)."""
    address = notify_address(env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), address)
        return True
    except OSError:
        return False


def watchdog_period(env: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between pings (half the service's ``WatchdogSec``), or None when no watchdog is asked of this process."""
    usec = env.get("WATCHDOG_USEC")
    if not usec or not notify_address(env):
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid.isdigit() and int(pid) != os.getpid():  # meant for another process (a parent shell)
        return None
    try:
        period = int(usec) / 2e6
    except ValueError:
        return None
    return period if period > 0 else None


class Watchdog:
    """Readiness once, then a ping every period while ``progress()`` (the monotonic time the pipeline last moved) is
    recent: within ``stall_s`` (default: two periods)."""

    def __init__(self, progress: Callable[[], float], env: Mapping[str, str] = os.environ,
                 stall_s: float | None = None) -> None:
        self.env, self.progress = env, progress
        self.period = watchdog_period(env)
        self.stall_s = stall_s if stall_s is not None else 2 * (self.period or 0)
        self.pings = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def ready(self, status: str = "") -> None:
        """Tell the service manager the stream is up, and start pinging where a watchdog is asked."""
        notify("READY=1" + (f"\nSTATUS={status}" if status else ""), self.env)
        if self.period is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drsn-watchdog", daemon=True)
            self._thread.start()

    def stalled(self) -> bool:
        return time.monotonic() - self.progress() > self.stall_s

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            if not self.stalled() and notify("WATCHDOG=1", self.env):
                self.pings += 1

    def stopping(self) -> None:
        """No more pings; tell the service manager the stream is shutting down."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        notify("STOPPING=1", self.env)
