"""Where decisions go: the console, JSON lines, MQTT, Prometheus, an HTML report; one failing output never stops the
others (SinkSet)."""

from drsn_edge.runtime.sinks.jsonl import JsonLinesSink
from drsn_edge.runtime.sinks.records import alarm_record, event_record, window_records
from drsn_edge.runtime.sinks.sinkset import SinkSet

__all__ = ["JsonLinesSink", "SinkSet", "alarm_record", "event_record", "window_records"]
