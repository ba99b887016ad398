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
import socket
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.sinks.records import strict_json


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
    connect_wait_s: float = 2.0  # at start: how long to wait for the broker's answer (a refusal is an error then)


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


def _safe(stream: str) -> str:
    """A stream id as one topic level."""
    return str(stream).replace("/", "_").replace("+", "_").replace("#", "_")


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


class StreamIdTaken(DrsnEdgeError):
    """Another process streams this id on the broker: refused at start, never mixed."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


class MqttSink:
    name = "mqtt"

    def __init__(self, opts: MqttOptions | str, prefix: str = "drsn", qos: int = 1, windows: bool = True,
                 streams: list[str] | tuple[str, ...] = (), warn=None, **kwargs: Any) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise DrsnEdgeError("MQTT output needs paho-mqtt: pip install 'drsn-edge[stream]'") from None
        if isinstance(opts, str):
            opts = MqttOptions(opts, prefix=prefix, qos=qos, windows=windows, **kwargs)
        self.opts = opts
        self.warn = warn or (lambda msg: None)
        tls, host, port, user, password = parse_url(opts.url)
        if password is not None:
            raise DrsnEdgeError(f"MQTT address {_redact(opts.url)}: a password in the URL shows in ps and in logs; give "
                                "it with --mqtt-password-env VAR or --mqtt-password-file FILE")
        self.addr = (host, port)
        self.where = f"{'mqtts' if tls else 'mqtt'}://{host}:{port}"
        user = opts.username or user
        password = self._password()
        self.prefix, self.windows = opts.prefix.rstrip("/"), opts.windows
        self.instance = {"instance": uuid.uuid4().hex[:12], "host": socket.gethostname(), "pid": os.getpid()}
        self.streams = [_safe(s) for s in streams]
        self.owners: dict[str, dict[str, Any]] = {}  # stream -> its retained owner, as the broker reported it
        self.online: dict[str, bool] = {}  # stream -> its retained status says online
        self.conflict: str | None = None
        self.checked = threading.Event()
        self.pending: deque[tuple[str, str, int, bool]] = deque()
        self.dropped = 0  # messages lost because the local buffer overflowed
        self.published = 0  # acknowledged by the broker (QoS 1/2) or sent (QoS 0)
        self.handed = 0  # passed to paho
        self.lock = threading.Lock()
        self._mids: set[int] = set()  # our messages in flight (status messages are not counted)
        self._early: set[int] = set()  # acknowledged before publish() returned their id
        self._mid_lock = threading.Lock()
        self.connected = threading.Event()
        self.answered = threading.Event()  # the broker accepted or refused a connection
        self.refused: str | None = None
        self._said: set[str] = set()
        self.started: list[str] = []  # streams this process announced online
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
        if self.streams:  # one will per connection: the first stream's (a service streams one)
            self.client.will_set(self._status(self.streams[0]), "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=5)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.checked.set()
        try:
            self.client.connect_async(host, port, keepalive=15)
        except (OSError, ValueError) as exc:
            raise DrsnEdgeError(f"bad MQTT broker address {self.where}: {exc}") from None
        self.client.loop_start()
        self._first_answer()

    def _status(self, stream: str) -> str:
        return f"{self.prefix}/{stream}/status"

    def _first_answer(self) -> None:
        """Wait briefly for the broker: a refusal (a wrong password) or a stream id another process streams is an
        error now, before any window; a broker that does not answer yet is waited for while the stream runs."""
        if not self.answered.wait(self.opts.connect_wait_s):
            self.warn(f"MQTT broker {self.where} does not answer yet; messages wait for it (up to {self.opts.buffer})")
            return
        if self.refused:
            self._stop_client()
            raise DrsnEdgeError(f"MQTT broker {self.where} refused the connection: {self.refused} (check --mqtt-user "
                                "and the password)")
        if self.streams and self.checked.wait(self.opts.connect_wait_s):
            time.sleep(0.3)  # retained messages follow the subscription's acknowledgement
        if self.conflict:
            self._stop_client()
            raise StreamIdTaken(self.conflict)

    def _stop_client(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, client, userdata, msg) -> None:
        parts = msg.topic.split("/")
        stream = "/".join(parts[len(self.prefix.split("/")) : -1])
        if parts[-1] == "owner":
            try:
                self.owners[stream] = json.loads(msg.payload)
            except (ValueError, UnicodeDecodeError):
                self.owners[stream] = {}
        elif parts[-1] == "status":
            self.online[stream] = msg.payload == b"online"
        owner = self.owners.get(stream) or {}
        if self.online.get(stream) and owner.get("instance") not in (None, self.instance["instance"]):
            stale = owner.get("host") == self.instance["host"] and not _alive(int(owner.get("pid") or 0))
            if not stale and self.conflict is None:
                self.conflict = (f"stream {stream!r} is streamed by another drsn-edge on {self.where} (host "
                                 f"{owner.get('host')}, pid {owner.get('pid')}); give this run another --stream-id")

    def _password(self) -> str | None:
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
        return None

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)  # e.g. "Not authorized": said at once, in the stats and the exit code
            self.answered.set()
            if self.refused not in self._said:
                self._said.add(self.refused)
                self.warn(f"MQTT broker {self.where} refused the connection: {self.refused} (check --mqtt-user and "
                          "the password); messages wait")
            return
        self.refused = None
        for stream in self.streams:  # who else streams these ids? (the retained status and owner answer)
            client.subscribe([(self._status(stream), 1), (f"{self.prefix}/{stream}/owner", 1)])
        self.answered.set()
        self.connected.set()
        threading.Thread(target=self._flush, daemon=True).start()  # not on paho's network thread

    def start(self, stream: str, duration_s: float | None = None) -> None:
        """A stream begins: it is online, and this process owns it (both retained, for a later instance to see)."""
        if self.conflict:
            raise StreamIdTaken(self.conflict)
        s = _safe(stream)
        self.started.append(s)
        with self.lock:  # not counted among the run's messages
            self.pending.append((f"{self.prefix}/{s}/owner", json.dumps(self.instance), 1, True, False))
            self.pending.append((self._status(s), "online", 1, True, False))
        if self.connected.is_set():
            self._flush()

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
            while self.pending and self.connected.is_set() and not self.conflict:
                topic, payload, qos, retain, counted = self.pending[0]
                info = self.client.publish(topic, payload, qos=qos, retain=retain)
                if info.rc != 0:  # lost the connection meanwhile: keep it for the next connect
                    break
                self.pending.popleft()
                if counted:
                    self.handed += 1
                    self._sent(info.mid)

    def _topic(self, record: dict[str, Any]) -> tuple[str, int, bool] | None:
        stream = _safe(record.get("stream", "0"))
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
        if self.conflict:  # found when the broker came: this output is set aside, never mixed with the other's
            raise StreamIdTaken(self.conflict)
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
                self.pending.append((where[0], strict_json(record), where[1], where[2], True))
                if record["type"] == "stream_end":
                    self.pending.append((self._status(_safe(record.get("stream", "0"))), "offline", 1, True, False))
        if self.connected.is_set():
            self._flush()

    def stats(self) -> dict[str, Any]:
        unacked = self.handed - self.published
        return {"broker": self.where, "connected": self.connected.is_set(), "published": self.published,
                "dropped": self.dropped, "waiting": sum(m[4] for m in self.pending) + max(0, unacked),
                **({"refused": self.refused} if self.refused else {})}

    def close(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.pending or self.handed > self.published) and not self.conflict:
            if self.connected.is_set():
                self._flush()
            time.sleep(0.05)
        if self.connected.is_set() and not self.conflict:
            try:
                for s in dict.fromkeys(self.started):
                    self.client.publish(self._status(s), "offline", qos=1, retain=True).wait_for_publish(1.0)
            except (RuntimeError, ValueError):  # the link went down meanwhile: the last will says offline
                pass
        self.client.disconnect()
        self.client.loop_stop()
