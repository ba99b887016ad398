"""Bearing evidence beside a stream's decisions: each unit's envelope analyzer fed with its signal at the input's own
rate, before resampling (a bearing's impacts may ring above the model's band: MFPT's at 6-23 kHz), on the reader
thread; its analyses kept by stream time, so that a window or an alarm carries the latest analysis made before its end,
never a later one."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from drsn_edge.bearing import BearingGeometry, EnvelopeAnalyzer, decide, tacho_speed
from drsn_edge.bearing.diagnosis import Diagnosis
from drsn_edge.bearing.envelope import (
    DEFECTS,
    MIN_HARMONICS,
    analyse_together,
    envelope_nyquist,
    readable_harmonics,
    too_slow,
)
from drsn_edge.errors import DrsnEdgeError

#: analyses kept per unit, at least: the reader runs ahead of the decisions by up to the window queue, so a stream
#: keeps as many blocks as that lag spans, plus these (:class:`StreamEvidence`'s ``lag_s``)
HISTORY = 3
#: the envelope spectrum an alarm carries (for the report), up to this many times the highest defect frequency
SPECTRUM_SPAN = 3.5


@dataclass(frozen=True)
class EvidenceSettings:
    """What a stream needs for bearing evidence: the bearing and the shaft speed (or a tachometer channel)."""

    bearing: BearingGeometry
    shaft_hz: float | None = None
    tacho_channel: int | None = None  # a sensor channel of once-per-revolution pulses
    block_s: float = 2.0
    average: int = 3

    def out_of_band(self, fs: float) -> list[str]:
        """Defects whose harmonics lie beyond the narrowest envelope spectrum at this speed (skipped, said once)."""
        if self.shaft_hz is None:
            return []
        top = min(envelope_nyquist(self.block_s), 0.475 * fs / 2)
        f = self.bearing.frequencies(self.shaft_hz)
        return [k for k in DEFECTS if readable_harmonics(k, f[k], self.shaft_hz, top) < MIN_HARMONICS]

    def below_resolution(self) -> list[str]:
        """Defects whose lines a block cannot resolve at this speed (a very slow shaft; skipped, said once)."""
        if self.shaft_hz is None:
            return []
        f = self.bearing.frequencies(self.shaft_hz)
        return [k for k in DEFECTS if too_slow(f[k], self.block_s)]

    def describe(self) -> dict[str, Any]:
        return {"on": True, "bearing": self.bearing.describe(), "shaft_hz": self.shaft_hz,
                "tacho_channel": self.tacho_channel, "block_s": self.block_s, "average": self.average}


class StreamEvidence:
    def __init__(self, settings: EvidenceSettings, fs: float, unit_rows: list[int], familiar: bool = True,
                 lag_s: float = 0.0) -> None:
        """``fs``: the input's rate; ``familiar``: the model listens to its own machine
        (:func:`~drsn_edge.bearing.familiar_machine`); ``lag_s``: how far the reader may run ahead of the decisions."""
        if settings.shaft_hz is None and settings.tacho_channel is None:
            raise DrsnEdgeError("bearing evidence needs the shaft speed: --rpm, --shaft-hz, a manifest rpm column, a "
                                "file that records it, or a tachometer channel (--tacho-channel)")
        self.settings, self.fs, self.rows, self.familiar = settings, fs, unit_rows, familiar
        self.watched: set[int] = set()  # units whose every analysis will be read (in alarm, or windows written)
        self.analyzers = [EnvelopeAnalyzer(fs, settings.bearing, settings.shaft_hz, settings.block_s, settings.average)
                          for _ in unit_rows]
        keep = HISTORY + int(np.ceil(lag_s / settings.block_s))
        self.history: list[deque] = [deque(maxlen=keep) for _ in unit_rows]
        self.lock = threading.Lock()
        self.skipped: set[str] = set()
        self._tacho: list[np.ndarray] = []
        self._tacho_n = 0
        self._size = self.analyzers[0].size if self.analyzers else 0
        self._buf = np.zeros((len(unit_rows), self._size), np.float32)  # every unit's block so far, filled together
        self._n = 0

    def push(self, y: np.ndarray, start_t: float) -> None:
        """Samples ``y`` (all sensor channels at the input's rate) whose first is at stream time ``start_t`` s."""
        if self.settings.tacho_channel is not None:
            self._speed(y[self.settings.tacho_channel])
        if not self.analyzers:
            return
        x, done = y[self.rows], 0
        while done < x.shape[1]:
            take = min(x.shape[1] - done, self._size - self._n)
            self._buf[:, self._n : self._n + take] = x[:, done : done + take]
            self._n, done = self._n + take, done + take
            if self._n == self._size:
                self._n = 0
                self._blocks_done(self._buf.copy(), start_t + done / self.fs)

    def _blocks_done(self, blocks: np.ndarray, end_t: float) -> None:
        """Every unit's block ended at stream time ``end_t``: the analyses, those watched computed at once."""
        made = [(u, a.add_block(blocks[u])) for u, a in enumerate(self.analyzers)]
        made = [(u, an) for u, an in made if an.shaft_hz]
        read = [an for u, an in made if u in self.watched]
        if read:  # computed here, beside the inference, not on the deciding thread
            analyse_together(read)
            for an in read:
                an.evidence  # noqa: B018
        with self.lock:
            for u, an in made:
                self.history[u].append((end_t, an))

    def watch(self, unit: int, on: bool) -> None:
        """Read every analysis of ``unit`` as it is made (on the reader thread), or only when asked for."""
        (self.watched.add if on else self.watched.discard)(unit)

    def _speed(self, x: np.ndarray) -> None:
        """The shaft rate from the last block of the tachometer channel, given to every analyzer."""
        self._tacho.append(np.asarray(x, np.float64))
        self._tacho_n += len(x)
        need = int(self.settings.block_s * self.fs)
        if self._tacho_n < need:
            return
        block = np.concatenate(self._tacho)[-need:]
        self._tacho, self._tacho_n = [block], need
        hz = tacho_speed(block, self.fs)
        for a in self.analyzers:
            a.shaft_hz = hz

    def reset(self) -> None:
        self._n = 0
        for a in self.analyzers:
            a.reset()

    def at(self, unit: int, t: float) -> tuple[dict[str, Any] | None, Any]:
        """(evidence, spectrum) of the latest analysis of ``unit`` made by stream time ``t``."""
        with self.lock:
            found = next((an for end_t, an in reversed(self.history[unit]) if end_t <= t + 1e-9), None)
        if found is None:
            return None, None
        ev = found.evidence  # read here, once per block, on the deciding thread
        self.skipped.update(ev["skipped"])
        return ev, found.spectrum

    def window_fields(self, units: np.ndarray, t: np.ndarray, labels: list[str],
                      healthy: str | None) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
        """Per window: the compact evidence (location and each defect's score) and the diagnosis."""
        evs, diags = [], []
        for u, tt, label in zip(units.tolist(), t.tolist(), labels):
            ev, _ = self.at(u, tt)
            evs.append(compact(ev))
            diags.append(self.diagnose(label, ev, healthy).to_dict())
        return evs, diags

    def diagnose(self, label: str, ev: dict[str, Any] | None, healthy: str | None) -> Diagnosis:
        """The model's ``label`` weighed against the evidence ``ev`` (None: none yet) by the rule of :func:`decide`."""
        return decide(label, ev["location"] if ev else None, healthy, familiar=self.familiar,
                      firm=bool(ev and ev["firm"]))

    def alarm_fields(self, unit: int, t: float, label: str, healthy: str | None) -> dict[str, Any]:
        """What an alarm carries: the evidence in full, the diagnosis, and the envelope spectrum with its lines."""
        ev, spec = self.at(unit, t)
        diagnosis = self.diagnose(label, ev, healthy)
        out: dict[str, Any] = {"evidence": ev, "diagnosis": diagnosis.to_dict()}
        if ev is not None and spec is not None:
            top = SPECTRUM_SPAN * max(d["hz"] for d in ev["defects"].values()) if ev["defects"] else 0
            n = min(len(spec.amp), int(top / spec.df) + 1)
            amp = np.maximum(spec.amp[:n], 1e-12)
            out["envelope_spectrum"] = {"df_hz": spec.df, "db": np.round(20 * np.log10(amp / np.median(amp)), 1).tolist(),
                                        "lines_hz": {k: d["hz"] for k, d in ev["defects"].items()}}
        return out


def compact(ev: dict[str, Any] | None) -> dict[str, Any] | None:
    """The evidence a window record carries: the location it names (firmly or not) and each defect's score (dB over
    the floor)."""
    if ev is None:
        return None
    return {"location": ev["location"], "firm": ev["firm"], "shaft_hz": ev["shaft_hz"],
            **{f"{k}_db": ev["defects"][k]["score_db"] for k in DEFECTS if k in ev["defects"]}}
