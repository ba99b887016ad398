"""Prometheus endpoint (prometheus-client): windows processed / rejected / dropped, latency, alarm state."""

from __future__ import annotations

from typing import Any

from drsn_edge.errors import DrsnEdgeError


class PrometheusSink:
    def __init__(self, port: int, addr: str = "0.0.0.0") -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
        except ImportError:
            raise DrsnEdgeError("the Prometheus endpoint needs prometheus-client: pip install 'drsn-edge[stream]'") from None
        self.registry = CollectorRegistry()
        self.windows = Counter("drsn_windows_processed_total", "Windows classified", ["unit"], registry=self.registry)
        self.rejected = Counter("drsn_windows_rejected_total", "Windows not fed to the model", ["reason"],
                                registry=self.registry)
        self.dropped = Counter("drsn_windows_dropped_total", "Windows dropped by backpressure", registry=self.registry)
        self.gaps = Counter("drsn_input_gaps_total", "Gaps detected in the input", registry=self.registry)
        self.latency = Histogram("drsn_decision_latency_seconds", "Last sample of a window in -> decision out",
                                 buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
                                 registry=self.registry)
        self.alarm = Gauge("drsn_alarm_active", "1 while a unit is in alarm", ["unit", "label"], registry=self.registry)
        self.p_fault = Gauge("drsn_fault_probability", "Smoothed probability of a fault", ["unit"], registry=self.registry)
        try:
            self.server, self.thread = start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            raise DrsnEdgeError(f"cannot serve Prometheus metrics on {addr}:{port}: {exc.strerror}") from None
        self.port = self.server.server_address[1]
        self._labels: dict[int, str] = {}

    def emit(self, record: dict[str, Any]) -> None:
        kind = record["type"]
        if kind == "window":
            unit = str(record["unit"])
            self.windows.labels(unit).inc()
            self.latency.observe(record["latency_ms"] / 1000)
            self.p_fault.labels(unit).set(record["p_fault"])
        elif kind == "alarm":
            unit = record["unit"]
            if record["state"] == "alarm":
                self._labels[unit] = record["label"]
                self.alarm.labels(str(unit), record["label"]).set(1)
            elif unit in self._labels:
                self.alarm.labels(str(unit), self._labels.pop(unit)).set(0)
        elif kind == "rejected":
            self.rejected.labels(record["reason"]).inc()
        elif kind == "dropped":
            self.dropped.inc(record.get("count", 1))
        elif kind == "gap":
            self.gaps.inc()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
