"""MQTT publisher (paho-mqtt): bounded local buffer while disconnected, counted drops, reconnects.

Topics under ``PREFIX`` (default ``drsn``): ``PREFIX/UNIT/window`` (decisions), ``PREFIX/UNIT/alarm`` (state
changes, retained), ``PREFIX/event`` (rejections, gaps, summary) and ``PREFIX/status`` (``online`` /
``offline``, retained; ``offline`` is the last will). Payloads are the JSON records of the JSON-lines output.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from typing import Any

from drsn_edge.errors import DrsnEdgeError


class MqttSink:
    def __init__(self, url: str, prefix: str = "drsn", qos: int = 1, window_qos: int = 0, buffer: int = 10_000,
                 client_id: str | None = None, windows: bool = True, connect_timeout: float = 5.0) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise DrsnEdgeError("MQTT output needs paho-mqtt: pip install 'drsn-edge[stream]'") from None
        host, _, port = url.removeprefix("mqtt://").rpartition(":")
        try:
            self.addr = (host or "localhost", int(port or 1883))
        except ValueError:
            raise DrsnEdgeError(f"bad MQTT address {url!r}: expected mqtt://HOST:PORT") from None
        self.prefix, self.qos, self.window_qos, self.windows = prefix.rstrip("/"), qos, window_qos, windows
        self.pending: deque[tuple[str, str, int, bool]] = deque()
        self.buffer = buffer
        self.dropped = 0  # messages lost because the local buffer overflowed
        self.published = 0
        self.lock = threading.Lock()
        self.connected = threading.Event()
        # a persistent session, so in-flight QoS 1 messages are retried after a reconnect
        client_id = client_id or f"drsn-edge-{os.getpid()}-{id(self):x}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.will_set(f"{self.prefix}/status", "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=5)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        try:
            self.client.connect(*self.addr, keepalive=30)
        except OSError as exc:
            raise DrsnEdgeError(f"cannot reach MQTT broker {self.addr[0]}:{self.addr[1]}: {exc}") from None
        self.client.loop_start()
        if not self.connected.wait(connect_timeout):
            self.close()
            raise DrsnEdgeError(f"MQTT broker {self.addr[0]}:{self.addr[1]} did not accept the connection")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        client.publish(f"{self.prefix}/status", "online", qos=1, retain=True)
        self.connected.set()
        self._flush()

    def _flush(self) -> None:
        with self.lock:
            while self.pending and self.connected.is_set():
                topic, payload, qos, retain = self.pending[0]
                info = self.client.publish(topic, payload, qos=qos, retain=retain)
                if info.rc != 0:  # lost the connection meanwhile: keep it for the next connect
                    break
                self.pending.popleft()
                self.published += 1

    def emit(self, record: dict[str, Any]) -> None:
        kind = record["type"]
        if kind == "window":
            if not self.windows:
                return
            topic, qos, retain = f"{self.prefix}/{record['unit']}/window", self.window_qos, False
        elif kind == "alarm":
            topic, qos, retain = f"{self.prefix}/{record['unit']}/alarm", self.qos, True
        else:
            topic, qos, retain = f"{self.prefix}/event", self.qos, False
        with self.lock:
            if len(self.pending) >= self.buffer:
                # make room by dropping the oldest window decision; alarms go only if nothing else can
                idx = next((i for i, m in enumerate(self.pending) if m[0].endswith("/window")), 0)
                del self.pending[idx]
                self.dropped += 1
            self.pending.append((topic, json.dumps(record, separators=(",", ":")), qos, retain))
        self._flush()

    def close(self, timeout: float = 5.0) -> None:
        import time

        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            self._flush()
            time.sleep(0.05)
        if self.connected.is_set():
            self.client.publish(f"{self.prefix}/status", "offline", qos=1, retain=True).wait_for_publish(1.0)
        self.client.disconnect()
        self.client.loop_stop()
