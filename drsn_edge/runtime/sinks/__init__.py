"""Where decisions go: JSON lines, MQTT, Prometheus."""

from drsn_edge.runtime.sinks.jsonl import JsonLinesSink
from drsn_edge.runtime.sinks.records import WindowDecision, alarm_record, event_record, window_record

__all__ = ["JsonLinesSink", "WindowDecision", "alarm_record", "event_record", "window_record"]
