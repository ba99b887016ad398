"""Prometheus endpoint (prometheus-client), read at scrape time from the run's own counters, so that the numbers
always equal the summary's: windows in / processed / rejected / dropped, outputs' losses, latency, alarms, P(fault).
Binds 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from drsn_edge.bearing.envelope import DEFECTS
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.runtime.latency import EDGES_MS

#: histogram buckets (seconds) exposed for the decision latency
BUCKETS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def parse_endpoint(text: str | int) -> tuple[str, int]:
    """``9100`` (127.0.0.1:9100), ``HOST:PORT`` or ``[::1]:PORT``."""
    text = str(text)
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
        assert 0 <= p < 65536
    except (ValueError, AssertionError):
        raise DrsnEdgeError(f"bad --prometheus {text!r}: expected PORT or HOST:PORT") from None
    return host, p


class PrometheusSink:
    name = "prometheus"
    windows = False
    evidence = True  # each unit's latest bearing evidence, as a trend (with a bearing given)

    def __init__(self, endpoint: str | int, streams: Callable[[], list] | None = None,
                 outputs: Callable[[], dict[str, Any]] | None = None) -> None:
        try:
            from prometheus_client import CollectorRegistry, start_http_server
        except ImportError:
            raise DrsnEdgeError("the Prometheus endpoint needs prometheus-client: pip install 'drsn-edge[stream]'") from None
        host, port = parse_endpoint(endpoint)
        self.streams = streams or (lambda: [])
        self.outputs = outputs or (lambda: {})
        self.registry = CollectorRegistry()
        self.registry.register(self)
        try:
            self.server, self.thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise DrsnEdgeError(f"cannot serve Prometheus metrics on {host}:{port}: {exc.strerror or exc}") from None
        self.port = self.server.server_address[1]
        self.host = host

    # prometheus-client collector protocol
    def describe(self) -> list:
        return []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        c_in = CounterMetricFamily("drsn_windows_in", "Windows cut from the input", labels=["stream"])
        c_proc = CounterMetricFamily("drsn_windows_processed", "Windows classified", labels=["stream", "unit"])
        c_rej = CounterMetricFamily("drsn_windows_rejected", "Windows not fed to the model", labels=["stream", "reason"])
        c_drop = CounterMetricFamily("drsn_windows_dropped", "Windows dropped (queue full)", labels=["stream", "cause"])
        c_gap = CounterMetricFamily("drsn_input_gaps", "Gaps detected in the input", labels=["stream"])
        c_alarm = CounterMetricFamily("drsn_alarms_raised", "Alarms raised", labels=["stream", "unit"])
        g_alarm = GaugeMetricFamily("drsn_alarm_active", "1 while a unit is in alarm", labels=["stream", "unit", "label"])
        g_pf = GaugeMetricFamily("drsn_fault_probability", "Smoothed probability of a fault", labels=["stream", "unit"])
        g_noise = GaugeMetricFamily("drsn_noise_level_db", "Noise level of the latest window, dB relative to the "
                                    "vibration (from the model's soft thresholds)", labels=["stream", "unit"])
        c_unk = CounterMetricFamily("drsn_windows_unknown", "Windows unlike every known class", labels=["stream", "unit"])
        h_lat = HistogramMetricFamily("drsn_decision_latency_seconds", "Last sample of a window in -> decision out",
                                      labels=["stream"])
        g_defect = GaugeMetricFamily("drsn_bearing_defect_db", "Bearing evidence: each defect's envelope lines over "
                                     "the local floor, dB (the latest block's spectrum)", labels=["stream", "unit", "defect"])
        g_loc = GaugeMetricFamily("drsn_bearing_location", "Bearing evidence: 1 where the latest spectrum names a "
                                  "location (firm: strong enough to dispute the model on its own machine)",
                                  labels=["stream", "unit", "location", "firm"])
        for st in self.streams():
            s = st.stream
            c_in.add_metric([s], st.windows_in)
            c_gap.add_metric([s], st.gaps)
            for reason, n in st.rejected.items():
                c_rej.add_metric([s, reason], n)
            for cause, n in st.dropped.items():
                c_drop.add_metric([s, cause], n)
            for u in np.flatnonzero(st.seen):
                c_proc.add_metric([s, str(u)], int(st.unit_processed[u]))
                c_alarm.add_metric([s, str(u)], int(st.alarms_raised[u]))
                g_pf.add_metric([s, str(u)], float(st.p_fault[u]))
                c_unk.add_metric([s, str(u)], int(st.unit_unknown[u]))
                if np.isfinite(st.noise_level[u]):
                    g_noise.add_metric([s, str(u)], float(st.noise_level[u]))
                if st.alarm[u]:
                    g_alarm.add_metric([s, str(u), st.alarm[u]], 1)
                ev = st.latest_evidence[u]
                if ev is not None:
                    for defect in DEFECTS:
                        if f"{defect}_db" in ev:
                            g_defect.add_metric([s, str(u), defect], ev[f"{defect}_db"])
                    if ev["location"]:
                        g_loc.add_metric([s, str(u), ev["location"], str(bool(ev["firm"])).lower()], 1)
            cum = np.cumsum(st.latency.counts)
            buckets = [(f"{b:g}", float(cum[np.searchsorted(EDGES_MS, b * 1e3, side="right")])) for b in BUCKETS_S]
            buckets.append(("+Inf", float(st.latency.n)))
            h_lat.add_metric([s], buckets, st.latency.total / 1e3)
        yield from (c_in, c_proc, c_rej, c_drop, c_gap, c_alarm, g_alarm, g_pf, g_noise, c_unk, h_lat, g_defect, g_loc)
        out = CounterMetricFamily("drsn_output_dropped", "Records an output lost (MQTT buffer overflow, failed output)",
                                  labels=["output"])
        waiting = GaugeMetricFamily("drsn_output_waiting", "Records waiting for an output (MQTT while the broker is away)",
                                    labels=["output"])
        for name, st in self.outputs().items():
            out.add_metric([name], st.get("dropped", 0) + st.get("lost", 0))
            if "waiting" in st:
                waiting.add_metric([name], st["waiting"])
        yield out
        yield waiting

    def emit(self, record: dict[str, Any]) -> None:
        pass  # everything is read from the counters at scrape time

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
