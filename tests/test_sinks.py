"""MQTT against a real mosquitto broker (stopped and restarted mid-stream) and the Prometheus endpoint."""

import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from drsn_edge.runtime.sinks.records import event_record

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if shutil.os.path.exists("/usr/sbin/mosquitto") else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A mosquitto on loopback with persistence, so queued QoS 1 messages survive its restart."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.conf = tmp_path / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                             f"persistence_location {tmp_path}/\nautosave_interval 1\nuser {getpass.getuser()}\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def broker(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto broker not installed (make test installs it: apt-get install mosquitto)")
    b = Broker(tmp_path)
    b.start()
    yield b
    if b.proc.poll() is None:
        b.stop()


class Subscriber:
    def __init__(self, port, topic="drsn/+/alarm"):
        import paho.mqtt.client as mqtt

        self.got = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub", clean_session=False)
        self.c.reconnect_delay_set(0.1, 1)
        first = [True]

        def on_connect(c, u, f, rc, p):
            if first[0]:
                c.subscribe(topic, qos=1)
                first[0] = False
            self.ready.set()

        def on_message(c, u, m):
            try:
                payload = json.loads(m.payload)
            except ValueError:  # the plain-text status topic
                payload = {"type": "status", "text": m.payload.decode()}
            with self.lock:
                self.got.append(payload)

        self.c.on_connect, self.c.on_message = on_connect, on_message
        self.c.on_subscribe = lambda *a: None
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        assert self.ready.wait(5)
        time.sleep(0.3)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def alarm(i):
    return {"type": "alarm", "unit": 0, "state": "alarm" if i % 2 == 0 else "clear", "label": f"event{i}",
            "stream_time": float(i), "wall_time": 0.0, "p_fault": 0.9}


def wait_for(pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_broker_restart_loses_no_alarm(broker):
    from drsn_edge.runtime.sinks.mqtt import MqttSink

    sub = Subscriber(broker.port)
    sink = MqttSink(f"mqtt://127.0.0.1:{broker.port}", qos=1)
    for i in range(5):
        sink.emit(alarm(i))
    assert wait_for(lambda: len({m["label"] for m in sub.got}) >= 5)
    broker.stop()  # broker goes away mid-stream
    assert wait_for(lambda: not sink.connected.is_set(), 10)
    for i in range(5, 10):
        sink.emit(alarm(i))  # buffered locally
        sink.emit({"type": "window", "unit": 0})
    assert len(sink.pending) >= 5
    broker.start()
    for i in range(10, 15):
        sink.emit(alarm(i))
    ok = wait_for(lambda: {m["label"] for m in sub.got} >= {f"event{i}" for i in range(15)}, 20)
    sink.close()
    sub.close()
    assert ok, sorted({m["label"] for m in sub.got})
    assert sink.dropped == 0


def test_buffer_overflow_drops_windows_first_and_counts(broker):
    from drsn_edge.runtime.sinks.mqtt import MqttSink

    sink = MqttSink(f"mqtt://127.0.0.1:{broker.port}", buffer=4)
    broker.stop()
    assert wait_for(lambda: not sink.connected.is_set(), 10)
    sink.emit(alarm(0))
    for _ in range(5):
        sink.emit({"type": "window", "unit": 0})
    assert sink.dropped == 2 and any(t.endswith("/alarm") for t, *_ in sink.pending)
    sink.close(timeout=0.2)


def test_stream_publishes_alarms(broker, stream_model, tmp_path):
    import numpy as np

    from drsn_edge.data.simulator import simulate_sequence
    from drsn_edge.runtime.app import InputOptions, OutputOptions, StreamJob, run_stream

    _, onnx = stream_model
    np.save(tmp_path / "s.npy", simulate_sequence([("normal", 4.0), ("outer_race", 6.0)], seed=101))
    sub = Subscriber(broker.port, "drsn/#")
    run_stream(StreamJob(str(onnx), str(tmp_path / "s.npy"), InputOptions(fs=12000.0),
                         OutputOptions(jsonl=None, mqtt=f"mqtt://127.0.0.1:{broker.port}")))
    assert wait_for(lambda: any(m.get("type") == "summary" for m in sub.got if isinstance(m, dict)))
    sub.close()
    kinds = [m.get("type") for m in sub.got if isinstance(m, dict)]
    assert "alarm" in kinds and kinds.count("window") > 10
    assert {"type": "status", "text": "online"} in sub.got


def test_mqtt_unreachable_is_a_clear_error():
    from drsn_edge import DrsnEdgeError
    from drsn_edge.runtime.sinks.mqtt import MqttSink

    with pytest.raises(DrsnEdgeError, match="cannot reach MQTT broker"):
        MqttSink(f"mqtt://127.0.0.1:{free_port()}")


def test_prometheus_endpoint():
    from drsn_edge.runtime.sinks.prometheus import PrometheusSink

    sink = PrometheusSink(0, addr="127.0.0.1")
    try:
        for _ in range(3):
            sink.emit({"type": "window", "unit": 1, "latency_ms": 4.0, "p_fault": 0.2})
        sink.emit(alarm(0) | {"unit": 1, "label": "ball"})
        sink.emit(event_record("rejected", unit=1, reason="nan_or_inf"))
        sink.emit(event_record("dropped", count=2))
        body = urllib.request.urlopen(f"http://127.0.0.1:{sink.port}/metrics", timeout=5).read().decode()
    finally:
        sink.close()
    assert 'drsn_windows_processed_total{unit="1"} 3.0' in body
    assert 'drsn_alarm_active{label="ball",unit="1"} 1.0' in body
    assert 'drsn_windows_rejected_total{reason="nan_or_inf"} 1.0' in body
    assert "drsn_windows_dropped_total 2.0" in body
    assert "drsn_decision_latency_seconds_count 3.0" in body
