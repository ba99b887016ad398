"""Stream settings, and their checks against the model and the input before the first sample is read."""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import NO_HEALTHY_CLASS, ModelMetadata
from drsn_edge.runtime.decisions import AlarmConfig

#: An input rate outside [model rate / 4, model rate x 16] is almost surely a unit slip (--fs 12 for 12 kHz).
MIN_RATE_RATIO, MAX_RATE_RATIO = 0.25, 16.0
POLICIES = ("block", "drop-oldest")


@dataclass
class StreamConfig:
    window: int | None = None  # default: the model's
    hop: int | None = None  # default: the model's suggested hop
    channel_map: list[list[int]] | None = None  # sensor channels feeding each unit's model inputs
    batch_size: int = 64  # windows of all channels at one hop go to the model together (a 64-channel stream: one run)
    max_latency_s: float = 0.005  # a partial batch runs once its oldest window waited this long
    queue_size: int = 256  # windows
    policy: str = "block"  # block | drop-oldest
    overlap: bool = True  # with a backlog, infer the next batch while deciding this one (where the backend allows)
    smoothing: int = 5
    smoothing_mode: str = "mean"
    alarm: AlarmConfig = field(default_factory=AlarmConfig)
    normal_label: str | None = None  # default: the model's healthy class
    clip_level: float | None = None
    max_abs: float = 1e4  # |sample| beyond this (in g) is not a plausible vibration
    gap_timeout_s: float = 2.0  # live sources: no data this long = a gap


def default_channel_map(sensor_channels: int, model_channels: int) -> list[list[int]]:
    """One unit per sensor for a 1-input model; one unit over all sensors for a multi-input model."""
    if model_channels == 1:
        return [[c] for c in range(sensor_channels)]
    if sensor_channels == model_channels:
        return [list(range(sensor_channels))]
    raise DrsnEdgeError(f"the model takes {model_channels} channels, the stream has {sensor_channels}; "
                        "give --channel-map (e.g. 0+1 for sensors 0 and 1 into one unit)")


def unit_map(channel_map: list[list[int]] | None, sensor_channels: int, model_channels: int) -> list[list[int]]:
    """The sensors of each unit: ``channel_map`` checked against the stream's channels and the model's inputs, or the
    default map."""
    units = channel_map or default_channel_map(sensor_channels, model_channels)
    for unit in units:
        if len(unit) != model_channels:
            raise DrsnEdgeError(f"each unit needs {model_channels} sensor channel(s); channel map has {unit}")
        bad = [c for c in unit if not 0 <= c < sensor_channels]
        if bad:
            raise DrsnEdgeError(f"channel map names sensor {bad[0]}, the stream has {sensor_channels} channel(s)")
    return units


def parse_channel_map(text: str) -> list[list[int]]:
    """``"0,1,2"`` (three units) or ``"0+1,2+3"`` (two units of two sensors)."""
    try:
        units = [[int(c) for c in unit.split("+")] for unit in text.split(",")]
    except ValueError:
        raise DrsnEdgeError(f"bad --channel-map {text!r}: expected e.g. 0,1 or 0+1,2+3") from None
    if any(c < 0 for u in units for c in u):
        raise DrsnEdgeError(f"bad --channel-map {text!r}: sensor numbers start at 0")
    return units


#: every number a stream takes: (what it is, least, most, whole number); the one place they are checked. A value out
#: of range is refused in one line: inf or 1e300 as a batch deadline crashed the process in a lock's timeout.
LIMITS: dict[str, tuple[str, float, float, bool]] = {
    "hop": ("hop (samples)", 1, 10_000_000, True),
    "batch_size": ("batch size (windows)", 1, 4096, True),
    "max_latency_s": ("batch deadline (s)", 0.0, 60.0, False),
    "queue_size": ("queue size (windows)", 1, 65_536, True),
    "smoothing": ("smoothing (windows)", 1, 10_000, True),
    "clip_level": ("clip level (g)", 1e-9, 1e6, False),
    "max_abs": ("plausible |sample| (g)", 1e-9, 1e9, False),
    "gap_timeout_s": ("gap timeout (s)", 1e-3, 86_400.0, False),
    "raise_at": ("alarm raise level", 0.0, 1.0, False),
    "clear_at": ("alarm clear level", 0.0, 1.0, False),
    "min_raise_s": ("time to raise an alarm (s)", 0.0, 31_536_000.0, False),
    "min_clear_s": ("time to clear an alarm (s)", 0.0, 31_536_000.0, False),
    "suppress_s": ("alarm suppression after a clear (s)", 0.0, 31_536_000.0, False),
    "fs": ("input sample rate (Hz)", 1e-3, 10_000_000.0, False),
    "raw_channels": ("raw stream channels", 1, 4096, True),
    "block": ("read block (samples)", 1, 10_000_000, True),
    "intra_op_threads": ("inference threads", 0, 256, True),
    "server_wait_s": ("server outage wait (s)", 1e-3, 86_400.0, False),
}


#: the units of a duration setting (``30s``, ``10m``, ``6h``, ``1d``)
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, what: str) -> float:
    """``90`` or ``90s``, ``10m``, ``6h``, ``1d`` -> seconds (> 0); a one-line error naming ``what`` otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text or ""))
    unit = (m.group(2) or "s").lower() if m else ""
    if not m or unit not in DURATION_UNITS or float(m.group(1)) <= 0:
        raise DrsnEdgeError(f"bad {what} {text!r}: give a duration (90s, 10m, 6h, 1d)")
    return float(m.group(1)) * DURATION_UNITS[unit]


def check_number(key: str, value: float | int | None) -> None:
    """Refuse a setting that is not a finite number within :data:`LIMITS` (None: not set)."""
    if value is None:
        return
    what, least, most, whole = LIMITS[key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and least <= value <= most
    if not ok or (whole and value != int(value)):
        kind = "a whole number" if whole else "a finite number"
        raise DrsnEdgeError(f"{what} must be {kind} from {_plain(least)} to {_plain(most)}, got {value}")


def _plain(x: float) -> str:
    return f"{int(x):,}" if x == int(x) else f"{x:g}"


def check_numbers(obj: object) -> None:
    """Every field of ``obj`` (a StreamConfig, AlarmConfig, InputOptions, ProviderSettings, ...) that has a limit."""
    for key in LIMITS:
        if hasattr(obj, key):
            check_number(key, getattr(obj, key))


def check_config(cfg: StreamConfig, md: ModelMetadata) -> str | None:
    """Refuse settings that cannot work; returns the healthy class to use (None: the model has none)."""
    check_numbers(cfg)
    check_numbers(cfg.alarm)
    if cfg.policy not in POLICIES:
        raise DrsnEdgeError(f"unknown backpressure policy {cfg.policy!r}; choose {' or '.join(POLICIES)}")
    if cfg.smoothing_mode not in ("mean", "vote"):
        raise DrsnEdgeError(f"unknown smoothing {cfg.smoothing_mode!r}; choose mean or vote")
    if cfg.window is not None and cfg.window != md.window:
        raise DrsnEdgeError(f"window {cfg.window} differs from the model's fixed input length {md.window}")
    normal = cfg.normal_label if cfg.normal_label is not None else md.normal_label
    if cfg.normal_label is not None and cfg.normal_label not in md.class_names:
        near = [n for n in md.class_names if n.lower() == cfg.normal_label.lower()] or \
            difflib.get_close_matches(cfg.normal_label, md.class_names, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise DrsnEdgeError(f"normal label {cfg.normal_label!r} is not a class of the model "
                            f"({', '.join(md.class_names)}){hint}")
    return normal


def check_input_rate(fs: float, md: ModelMetadata, force: bool, where: str) -> list[str]:
    """Refuse an implausible input rate; warnings for a rate below the model's (its upper band is then empty)."""
    ratio = fs / md.sample_rate
    if not (MIN_RATE_RATIO <= ratio <= MAX_RATE_RATIO) and not force:
        raise DrsnEdgeError(f"{where} at {fs:g} Hz for a {md.sample_rate:g} Hz model ({ratio:.3g}x) is implausible: "
                            f"a unit slip (kHz for Hz)? Give the rate in Hz, or --force if it is right")
    if ratio < 1:
        missing = 1 - ratio
        return [f"{where} is sampled at {fs:g} Hz, below the model's {md.sample_rate:g} Hz: it carries nothing above "
                f"{fs / 2:g} Hz, so {100 * missing:.0f} % of the model's band (0-{md.sample_rate / 2:g} Hz) is empty "
                "and its decisions may be unreliable"]
    return []


def no_normal_warning(md: ModelMetadata) -> str:
    return (f"the model has no healthy class (its classes: {', '.join(md.class_names)}): {NO_HEALTHY_CLASS}; name "
            "the healthy class with --normal-label if it has one")


#: the alarm settings ``enrol`` sets a machine's threshold under unless told otherwise (``stream`` and ``evaluate``
#: then run an enrolled model with them): an anomaly must hold a second, over 10 windows. Measured on 5 simulated
#: machines over 24 h each (benchmarks/results/enrolment.md): with 5 windows and 0.5 s, stray stretches of healthy
#: signal crossed the threshold several times a day.
ENROL_ALARM = {"smoothing": 10, "min_raise_s": 1.0}


#: the alarm settings an enrolment records, with the flag that sets each
ALARM_FLAGS = {"hop": "--hop", "smoothing": "--smooth", "raise_at": "--raise", "clear_at": "--clear",
               "min_raise_s": "--min-raise-s", "min_clear_s": "--min-clear-s"}


def alarm_settings_of(cfg: StreamConfig, hop: int) -> dict[str, Any]:
    """The settings of ``cfg`` an anomaly threshold holds for, as an enrolment records them."""
    return {"hop": cfg.hop or hop, "smoothing": cfg.smoothing,
            **{k: getattr(cfg.alarm, k) for k in ALARM_FLAGS if k not in ("hop", "smoothing")}}


def enrolled_config(md: ModelMetadata) -> StreamConfig:
    """A stream configured as ``md``'s machine was enrolled (the defaults where it was not)."""
    s = (md.enrolment or {}).get("alarm") or {}
    alarm = {k: s[k] for k in ALARM_FLAGS if k in s and k not in ("hop", "smoothing")}
    return StreamConfig(hop=s.get("hop"), smoothing=s.get("smoothing", StreamConfig.smoothing),
                        alarm=AlarmConfig(**alarm))


def enrolment_mismatch(cfg: StreamConfig, md: ModelMetadata) -> str | None:
    """What differs between a stream's alarm settings and those an enrolled machine's threshold was set under (its
    false-alarm rate holds only for those), in one line; None when nothing does or the model is not enrolled."""
    enrolled = (md.enrolment or {}).get("alarm")
    if not enrolled:
        return None
    now = alarm_settings_of(cfg, md.hop)
    diff = [f"{flag} {now[k]:g} (enrolled with {enrolled[k]:g})" for k, flag in ALARM_FLAGS.items()
            if k in enrolled and float(now[k]) != float(enrolled[k])]
    if not diff:
        return None
    return (f"the machine's anomaly threshold was set for {md.enrolment.get('false_alarms_per_day_target', '?')} false "
            f"alarm(s) a day under other alarm settings: {', '.join(diff)}; the rate no longer holds (enrol again "
            "with these flags, or stream with the enrolled ones)")
