"""MQTT publisher (paho-mqtt): starts with or without the broker, buffers while it is away, reconnects, counts.

URL: ``mqtt://[user@]HOST[:PORT]`` or ``mqtts://...`` (TLS, port 8883 by default); IPv6 as ``[::1]``. Topics under
``PREFIX`` (default ``drsn``): ``PREFIX/STREAM/UNIT/window`` (decisions), ``PREFIX/STREAM/UNIT/alarm`` (state
changes, retained), ``PREFIX/STREAM/event`` (rejections, gaps, drops, summaries) and ``PREFIX/status``
(``online`` / ``offline``, retained; ``offline`` is the last will). Payloads are the JSON-lines records. Messages go
out with QoS 1 by default: a message is counted as published when the broker acknowledged it; while the broker is
away they wait in a bounded local buffer, and on overflow window decisions are dropped before alarms, counted.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from drsn_edge.errors import DrsnEdgeError


@dataclass
class MqttOptions:
    url: str
    prefix: str = "drsn"
    qos: int = 1  # alarms and events
    window_qos: int = 1  # window decisions (0: faster, but messages in flight when the link drops are lost uncounted)
    buffer: int = 10_000
    username: str | None = None
    password_env: str | None = None  # the name of an environment variable holding the password
    password_file: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    client_id: str | None = None
    windows: bool = True


def parse_url(url: str) -> tuple[bool, str, int, str | None, str | None]:
    """(tls, host, port, user, password) of an mqtt:// or mqtts:// URL."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "mqtts"):
        raise DrsnEdgeError(f"bad MQTT address {_redact(url)!r}: expected mqtt://HOST:PORT or mqtts://HOST:PORT")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise DrsnEdgeError(f"bad MQTT address {_redact(url)!r}: the port is not a number") from None
    if not parts.hostname:
        raise DrsnEdgeError(f"bad MQTT address {_redact(url)!r}: no host")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return tls, parts.hostname, port, user, password


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


class MqttSink:
    name = "mqtt"

    def __init__(self, opts: MqttOptions | str, prefix: str = "drsn", qos: int = 1, windows: bool = True,
                 **kwargs: Any) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise DrsnEdgeError("MQTT output needs paho-mqtt: pip install 'drsn-edge[stream]'") from None
        if isinstance(opts, str):
            opts = MqttOptions(opts, prefix=prefix, qos=qos, windows=windows, **kwargs)
        self.opts = opts
        tls, host, port, user, password = parse_url(opts.url)
        self.addr = (host, port)
        self.where = f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
        user = opts.username or user
        password = self._password(password)
        self.prefix, self.windows = opts.prefix.rstrip("/"), opts.windows
        self.pending: deque[tuple[str, str, int, bool]] = deque()
        self.dropped = 0  # messages lost because the local buffer overflowed
        self.published = 0  # acknowledged by the broker (QoS 1/2) or sent (QoS 0)
        self.handed = 0  # passed to paho
        self.lock = threading.Lock()
        self._mids: set[int] = set()  # our messages in flight (status messages are not counted)
        self._early: set[int] = set()  # acknowledged before publish() returned their id
        self._mid_lock = threading.Lock()
        self.connected = threading.Event()
        self.refused: str | None = None
        client_id = opts.client_id or f"drsn-edge-{os.getpid()}-{id(self):x}"
        # a persistent session, so in-flight QoS 1 messages are resent after a reconnect
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        if user:
            self.client.username_pw_set(user, password)
        if tls or opts.ca_file or opts.cert_file:
            for f in (opts.ca_file, opts.cert_file, opts.key_file):
                if f and not os.path.isfile(f):
                    raise DrsnEdgeError(f"MQTT TLS file not found: {f}")
            try:
                self.client.tls_set(ca_certs=opts.ca_file, certfile=opts.cert_file, keyfile=opts.key_file,
                                    cert_reqs=ssl.CERT_REQUIRED)
            except (ssl.SSLError, ValueError, OSError) as exc:
                raise DrsnEdgeError(f"MQTT TLS setup failed: {exc}") from None
        self.client.will_set(f"{self.prefix}/status", "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=5)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_publish = self._on_publish
        try:
            self.client.connect_async(host, port, keepalive=15)
        except (OSError, ValueError) as exc:
            raise DrsnEdgeError(f"bad MQTT broker address {self.where}: {exc}") from None
        self.client.loop_start()

    def _password(self, from_url: str | None) -> str | None:
        o = self.opts
        if o.password_env:
            if o.password_env not in os.environ:
                raise DrsnEdgeError(f"MQTT password: environment variable {o.password_env} is not set")
            return os.environ[o.password_env]
        if o.password_file:
            try:
                with open(o.password_file, encoding="utf-8") as f:
                    return f.readline().rstrip("\r\n")
            except OSError as exc:
                raise DrsnEdgeError(f"MQTT password file {o.password_file}: {exc.strerror}") from None
        return from_url

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)  # e.g. "Not authorized": said at close and in the stats
            return
        self.refused = None
        client.publish(f"{self.prefix}/status", "online", qos=1, retain=True)
        self.connected.set()
        threading.Thread(target=self._flush, daemon=True).start()  # not on paho's network thread

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._mid_lock:
            if mid in self._mids:
                self._mids.discard(mid)
                self.published += 1
            elif len(self._early) < 10_000:  # (status messages land here too; bounded)
                self._early.add(mid)

    def _sent(self, mid: int) -> None:
        with self._mid_lock:
            if mid in self._early:
                self._early.discard(mid)
                self.published += 1
            else:
                self._mids.add(mid)

    def _flush(self) -> None:
        with self.lock:
            while self.pending and self.connected.is_set():
                topic, payload, qos, retain = self.pending[0]
                info = self.client.publish(topic, payload, qos=qos, retain=retain)
                if info.rc != 0:  # lost the connection meanwhile: keep it for the next connect
                    break
                self.pending.popleft()
                self.handed += 1
                self._sent(info.mid)

    def _topic(self, record: dict[str, Any]) -> tuple[str, int, bool] | None:
        stream = str(record.get("stream", "0")).replace("/", "_").replace("+", "_").replace("#", "_")
        kind = record["type"]
        if kind == "window":
            if not self.windows:
                return None
            return f"{self.prefix}/{stream}/{record['unit']}/window", self.opts.window_qos, False
        if kind == "alarm":
            return f"{self.prefix}/{stream}/{record['unit']}/alarm", self.opts.qos, True
        return f"{self.prefix}/{stream}/event", self.opts.qos, False

    def emit(self, record: dict[str, Any]) -> None:
        self.emit_many([record])

    def emit_many(self, records: list[dict[str, Any]]) -> None:
        with self.lock:
            for record in records:
                where = self._topic(record)
                if where is None:
                    continue
                if len(self.pending) >= self.opts.buffer:
                    # make room by dropping the oldest window decision; alarms go only if nothing else can
                    idx = next((i for i, m in enumerate(self.pending) if m[0].endswith("/window")), 0)
                    del self.pending[idx]
                    self.dropped += 1
                self.pending.append((where[0], json.dumps(record, separators=(",", ":")), where[1], where[2]))
        if self.connected.is_set():
            self._flush()

    def stats(self) -> dict[str, Any]:
        unacked = self.handed - self.published
        return {"broker": self.where, "connected": self.connected.is_set(), "published": self.published,
                "dropped": self.dropped, "waiting": len(self.pending) + max(0, unacked),
                **({"refused": self.refused} if self.refused else {})}

    def close(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.pending or self.handed > self.published):
            if self.connected.is_set():
                self._flush()
            time.sleep(0.05)
        if self.connected.is_set():
            try:
                self.client.publish(f"{self.prefix}/status", "offline", qos=1, retain=True).wait_for_publish(1.0)
            except (RuntimeError, ValueError):  # the link went down meanwhile: the last will says offline
                pass
        self.client.disconnect()
        self.client.loop_stop()
