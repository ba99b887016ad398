"""The notify protocol on a real datagram socket: readiness, watchdog pings at the asked interval, no ping while the
pipeline is stalled, STOPPING at the end; a stream run as a notify service speaks it."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.runtime.config import StreamConfig
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.runner import StreamRunner
from drsn_edge.runtime.service import Watchdog, notify, watchdog_period
from drsn_edge.runtime.sources.files import ArraySource


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.05)
    yield s, path
    s.close()


def received(sock, seconds: float) -> list[tuple[float, str]]:
    """(arrival time, message) of every datagram within ``seconds``."""
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            out.append((time.monotonic(), sock.recv(4096).decode()))
        except TimeoutError:
            pass
    return out


def test_no_socket_no_watchdog():
    assert not notify("READY=1", {})
    assert watchdog_period({"WATCHDOG_USEC": "1000000"}) is None  # no socket: nobody to ping
    env = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000"}
    assert watchdog_period(env) == 0.5
    assert watchdog_period({**env, "WATCHDOG_PID": str(os.getpid() + 1)}) is None  # meant for another process
    assert watchdog_period({**env, "WATCHDOG_USEC": "x"}) is None


def test_ready_then_pings_at_the_interval_and_none_while_stalled(notify_socket):
    sock, path = notify_socket
    moved = [time.monotonic()]
    alive = threading.Event()
    alive.set()

    def beat():
        while alive.is_set():
            moved[0] = time.monotonic()
            time.sleep(0.02)

    t = threading.Thread(target=beat, daemon=True)
    t.start()
    dog = Watchdog(lambda: moved[0], {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})  # a ping every 0.1 s
    dog.ready("test")
    healthy = received(sock, 1.0)
    assert healthy[0][1] == "READY=1\nSTATUS=test"
    pings = [at for at, m in healthy if m == "WATCHDOG=1"]
    assert 7 <= len(pings) <= 11
    assert 0.07 < float(np.median(np.diff(pings))) < 0.15
    alive.clear()  # the pipeline stops moving: after the stall limit (0.2 s), no ping
    t.join()
    received(sock, 0.3)  # pings sent before the stall limit passed
    assert [m for _, m in received(sock, 0.8)] == []
    moved[0] = time.monotonic() + 10  # it moves again: pings again
    assert "WATCHDOG=1" in [m for _, m in received(sock, 0.5)]
    dog.stopping()
    assert [m for _, m in received(sock, 0.3) if m != "WATCHDOG=1"] == ["STOPPING=1"]


def test_abstract_socket_address():
    name = f"drsn-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        s.settimeout(2)
        assert notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert s.recv(100) == b"READY=1"


class BlockingBackend:
    """The real model, until it is told to hang (a stalled GPU, a wedged driver)."""

    def __init__(self, be):
        self.be, self.hang, self.calls = be, threading.Event(), 0

    def warm(self, *shape):
        self.be.warm(*shape)

    def infer_all(self, x):
        self.calls += 1
        while self.hang.is_set():
            time.sleep(0.01)
        return self.be.infer_all(x)


def test_a_stalled_pipeline_stops_the_pings(stream_model, notify_socket):
    sock, path = notify_socket
    be, md = open_model(stream_model[1])
    be.activate()
    x = simulate_bearing("normal", duration=30.0, seed=0)[None]
    backend = BlockingBackend(be)
    runner = StreamRunner(backend, md, ArraySource(x, 12000.0, block=1200, realtime=True), [], StreamConfig())
    dog = Watchdog(lambda: runner.heartbeat, {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    t = threading.Thread(target=runner.run, kwargs={"handle_signals": False}, daemon=True)
    t.start()
    dog.ready()
    before = [m for _, m in received(sock, 1.0)]
    assert before.count("WATCHDOG=1") >= 6 and backend.calls > 0
    backend.hang.set()
    received(sock, 0.5)  # the batch in the model now hangs; the stall limit passes
    during = [m for _, m in received(sock, 1.0)]
    backend.hang.clear()
    after = [m for _, m in received(sock, 1.0)]
    runner.stop.set()
    t.join(timeout=10)
    dog.stopping()
    assert during == []
    assert after.count("WATCHDOG=1") >= 4


def test_stream_as_a_notify_service(stream_model, notify_socket, tmp_path):
    sock, path = notify_socket
    sf.write(tmp_path / "a.wav", simulate_bearing("inner_race", duration=30.0, seed=1), 12000, subtype="FLOAT")
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "stream", str(stream_model[1]), str(tmp_path / "a.wav"),
                             "--realtime", "--jsonl", str(tmp_path / "o.jsonl")], env=env, stderr=subprocess.PIPE,
                            text=True)
    try:
        got = received(sock, 12.0)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    got += received(sock, 0.5)
    assert proc.returncode in (0, 1), err
    messages = [m for _, m in got]
    assert messages[0].startswith("READY=1")
    pings = [at for at, m in got if m == "WATCHDOG=1"]
    assert len(pings) >= 5
    assert 0.15 < float(np.median(np.diff(pings))) < 0.3  # half of WatchdogSec
    assert messages[-1] == "STOPPING=1"
