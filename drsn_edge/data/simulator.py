"""Physics-based rolling-element bearing vibration simulator (the offline default data).

Follows the impulse-train model of McFadden & Smith, "Model for the vibration produced by a single
point defect in a rolling element bearing", J. Sound Vib. 96(1), 1984, with the random slip and
modulation described by Randall & Antoni, "Rolling element bearing diagnostics - A tutorial",
Mech. Syst. Signal Process. 25(2), 2011:

- a localized fault strikes at its characteristic frequency from bearing geometry and shaft speed
  (BPFO outer race; BPFI inner race; 2 x BSF for a ball, which hits both races once per spin);
- intervals between impacts jitter randomly by 1-2 % (rolling-element slip);
- inner-race impacts are amplitude-modulated at shaft rate (the fault passes through the load
  zone), ball impacts at cage rate (FTF);
- each impact excites structural resonances (exponentially decaying sinusoids);
- shaft harmonics and a broadband floor through the same structure are always present.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from drsn_edge.bearing.kinematics import BEARINGS, BearingGeometry
from drsn_edge.data.recording import Recording
from drsn_edge.errors import DrsnEdgeError

CONDITIONS = ("normal", "inner_race", "ball", "outer_race")
SEVERITIES = {"mild": 0.5, "moderate": 1.0, "severe": 2.0}

#: Label sets: ``4`` conditions, severities pooled; ``10`` normal + 3 conditions x 3 severities.
SIM_LABEL_SETS: dict[str, list[str]] = {
    "4": list(CONDITIONS),
    "10": ["normal"] + [f"{c}_{s}" for s in SEVERITIES for c in CONDITIONS[1:]],
}


def impact_rate(condition: str, shaft_hz: float, geometry: BearingGeometry) -> float:
    """Impacts per second for a fault condition."""
    f = geometry.frequencies(shaft_hz)
    return {"outer_race": f["bpfo"], "inner_race": f["bpfi"], "ball": 2 * f["bsf"]}[condition]


def _structure_response(fs: float, rng: np.random.Generator, band: tuple[float, float] | None = None) -> np.ndarray:
    """Impulse response of 2-3 lightly damped structural modes in ``band`` Hz (default 0.12-0.42 fs)."""
    lo, hi = band or (0.12 * fs, 0.42 * fs)
    t = np.arange(int(0.02 * fs)) / fs
    h = np.zeros_like(t)
    for _ in range(rng.integers(2, 4)):
        fn = rng.uniform(lo, hi)
        zeta = rng.uniform(0.02, 0.08)
        h += rng.uniform(0.5, 1.0) * np.exp(-zeta * 2 * np.pi * fn * t) * np.sin(2 * np.pi * fn * np.sqrt(1 - zeta**2) * t)
    return h / np.max(np.abs(h))


def simulate_bearing(
    condition: str,
    *,
    fs: float = 12000.0,
    duration: float = 10.0,
    rpm: float = 1772.0,
    severity: float = 1.0,
    slip: float | None = None,
    geometry: BearingGeometry = BEARINGS["6205-2RS-JEM"],
    seed: int | np.random.Generator = 0,
    structure: np.ndarray | None = None,
    resonance_band: tuple[float, float] | None = None,
    harmonics: tuple[np.ndarray, np.ndarray] | None = None,
    floor: float = 0.03,
) -> np.ndarray:
    """One channel of acceleration (g), ``int(duration * fs)`` samples.

    ``severity`` scales impact amplitude (1 = moderate); ``slip`` is the relative standard deviation of
    the impact interval (drawn from 1-2 % when None); ``structure`` is the machine's impulse response
    (drawn at random when None; pass one to simulate the same machine in several conditions), its modes in
    ``resonance_band`` Hz (default 0.12-0.42 fs). ``harmonics``: the shaft harmonics' amplitudes and starting
    phases (5 each; drawn when None); ``floor``: the broadband level (g rms), which rises with load.
    """
    if condition not in CONDITIONS:
        raise DrsnEdgeError(f"unknown bearing condition {condition!r}; choose from {', '.join(CONDITIONS)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(duration * fs)
    t = np.arange(n) / fs
    shaft_hz = rpm / 60.0
    h = _structure_response(fs, rng, resonance_band) if structure is None else structure

    x = np.zeros(n)
    amps, phases = harmonics if harmonics is not None else (None, None)
    for k in range(1, 6):  # shaft harmonics: unbalance, misalignment
        a = rng.uniform(0.005, 0.04) if amps is None else amps[k - 1]
        phase = rng.uniform(0, 2 * np.pi) if phases is None else phases[k - 1]
        x += a / k * np.sin(2 * np.pi * k * shaft_hz * t + phase)
    noise = np.convolve(rng.standard_normal(n), h, mode="same")
    x += floor * noise / np.std(noise)

    if condition != "normal":
        from scipy.signal import fftconvolve

        rate = impact_rate(condition, shaft_hz, geometry)
        slip = rng.uniform(0.01, 0.02) if slip is None else slip
        count = int(duration * rate) + 2
        intervals = (1.0 / rate) * (1.0 + slip * rng.standard_normal(count))
        times = rng.uniform(0, 1.0 / rate) + np.cumsum(intervals)
        times = times[times < duration]
        amp = severity * rng.uniform(0.3, 0.6) * (1 + 0.1 * rng.standard_normal(len(times)))
        if condition == "inner_race":
            depth = rng.uniform(0.4, 0.9)
            amp = amp * (1 + depth * np.cos(2 * np.pi * shaft_hz * times + rng.uniform(0, 2 * np.pi)))
        elif condition == "ball":
            depth = rng.uniform(0.4, 0.9)
            ftf = geometry.frequencies(shaft_hz)["ftf"]
            amp = amp * (1 + depth * np.cos(2 * np.pi * ftf * times + rng.uniform(0, 2 * np.pi)))
        train = np.zeros(n)
        np.add.at(train, np.minimum((times * fs).round().astype(int), n - 1), amp)
        x += fftconvolve(train, h)[:n]
    return x.astype(np.float32)


def make_sim_recordings(
    label_set: str = "4",
    *,
    fs: float = 12000.0,
    duration: float = 10.0,
    recordings_per_class: int = 4,
    rpm_range: tuple[float, float] = (1720.0, 1800.0),
    seed: int = 0,
) -> tuple[list[Recording], list[str]]:
    """A labelled set of simulated recordings, each with its own speed, structure and severity."""
    if label_set not in SIM_LABEL_SETS:
        raise DrsnEdgeError(f"unknown simulator label set {label_set!r}; choose from {', '.join(SIM_LABEL_SETS)}")
    names = SIM_LABEL_SETS[label_set]
    rng = np.random.default_rng(seed)
    recordings = []
    for label, name in enumerate(names):
        for i in range(recordings_per_class):
            if label_set == "10" and name != "normal":
                condition, sev_name = name.rsplit("_", 1)
            else:
                condition, sev_name = name, str(rng.choice(list(SEVERITIES)))
            severity = SEVERITIES[sev_name] * rng.uniform(0.8, 1.25)
            rpm = rng.uniform(*rpm_range)
            sig = simulate_bearing(condition, fs=fs, duration=duration, rpm=rpm, severity=severity, seed=rng)
            recordings.append(
                Recording(
                    signal=sig[None, :],
                    fs=fs,
                    label=label,
                    meta={"source": "sim", "condition": condition, "severity": round(severity, 3),
                          "rpm": round(rpm, 1), "shaft_hz": rpm / 60.0, "bearing": BEARINGS["6205-2RS-JEM"].name,
                          "index": i},
                )
            )
    return recordings, names


def simulate_sequence(
    segments: list[tuple[str, float]],
    *,
    fs: float = 12000.0,
    rpm: float = 1772.0,
    severity: float = 1.0,
    seed: int = 0,
    resonance_band: tuple[float, float] | None = None,
) -> np.ndarray:
    """Concatenate conditions, e.g. ``[("normal", 5), ("outer_race", 5), ("normal", 5)]`` (seconds)."""
    rng = np.random.default_rng(seed)
    h = _structure_response(fs, rng, resonance_band)  # one machine throughout
    parts = [simulate_bearing(c, fs=fs, duration=d, rpm=rpm, severity=severity, seed=rng, structure=h)
             for c, d in segments]
    return np.concatenate(parts)


#: how far a simulated machine's speed and load wander over a day (relative): a drive held near its set speed
SPEED_DRIFT, LOAD_DRIFT = 0.015, 0.15


@dataclass
class Machine:
    """One simulated machine: its structure (resonances), bearing, set speed, load and shaft harmonics are its own;
    a stream of it drifts in speed and load over hours, and may develop a fault that grows (run to failure).

    Streams come in chunks at any length in fixed memory; the sensor noise is fixed per machine (``snr_db`` relative
    to its healthy vibration at set speed and load)."""

    name: str
    fs: float
    rpm: float
    geometry: BearingGeometry
    structure: np.ndarray
    harmonics: np.ndarray  # (5,) amplitudes, g
    load: float  # broadband floor at set load, g rms
    cycles: np.ndarray  # (4,) phases of its speed and load cycles: the time of day sets its state

    @classmethod
    def draw(cls, seed: int, fs: float = 12000.0, bearing: str | None = None,
             rpm_range: tuple[float, float] = (1200.0, 1800.0)) -> Machine:
        rng = np.random.default_rng(seed)
        geometry = BEARINGS[bearing or str(rng.choice(sorted(BEARINGS)))]
        band = tuple(sorted(rng.uniform(0.1, 0.42, 2) * fs)) if rng.random() < 0.5 else None
        structure = _structure_response(fs, rng, band if band and band[1] - band[0] > 0.04 * fs else None)
        return cls(f"machine-{seed}", fs, float(rng.uniform(*rpm_range)), geometry, structure,
                   rng.uniform(0.005, 0.04, 5), float(rng.uniform(0.02, 0.04)), rng.uniform(0, 2 * np.pi, 4))

    def describe(self) -> dict:
        return {"name": self.name, "bearing": self.geometry.name, "rpm": round(self.rpm, 1), "load": round(self.load, 4)}

    def stream(self, duration_s: float, seed: int = 0, fault: str | None = None, onset_s: float | None = None,
               grow_s: float = 60.0, snr_db: float | None = None, chunk_s: float = 10.0,
               start_s: float = 0.0) -> Iterator[np.ndarray]:
        """Chunks of one channel (float32) covering ``duration_s``: healthy, or from ``onset_s`` on ``fault`` at a
        severity growing from mild to severe over ``grow_s``. Speed and load follow the machine's slow cycles (hours):
        ``start_s`` is where in its day the stream starts."""
        rng = np.random.default_rng(seed)
        cycles = self.cycles
        noise_rms = None
        if snr_db is not None:
            ref = simulate_bearing("normal", fs=self.fs, duration=2.0, rpm=self.rpm, geometry=self.geometry,
                                   seed=np.random.default_rng(seed + 1), structure=self.structure,
                                   harmonics=(self.harmonics, np.zeros(5)), floor=self.load)
            noise_rms = float(np.sqrt(np.mean(ref.astype(np.float64) ** 2) / 10 ** (snr_db / 10)))
        phases = rng.uniform(0, 2 * np.pi, 5)
        t, end = 0.0, float(duration_s)
        while t < end - 1e-9:
            d = min(chunk_s, end - t)
            hours = (start_s + t) / 3600.0
            rpm = self.rpm * (1 + SPEED_DRIFT * (0.7 * np.sin(2 * np.pi * hours / 5.3 + cycles[0])
                                                 + 0.3 * np.sin(2 * np.pi * hours / 1.1 + cycles[1])))
            load = self.load * (1 + LOAD_DRIFT * (0.7 * np.sin(2 * np.pi * hours / 8.0 + cycles[2])
                                                  + 0.3 * np.sin(2 * np.pi * hours / 0.7 + cycles[3])))
            faulty = fault is not None and fault != "normal" and onset_s is not None and t + d > onset_s
            x = simulate_bearing("normal", fs=self.fs, duration=d, rpm=rpm, geometry=self.geometry, seed=rng,
                                 structure=self.structure, harmonics=(self.harmonics, phases), floor=load)
            if faulty:
                a = max(0, int(round((onset_s - t) * self.fs)))
                severity = 0.5 * 4.0 ** min(1.0, max(0.0, (t + d / 2 - onset_s) / grow_s))  # mild -> severe
                impacts = simulate_bearing(fault, fs=self.fs, duration=d, rpm=rpm, geometry=self.geometry, seed=rng,
                                           structure=self.structure, harmonics=(np.zeros(5), phases), floor=0.0,
                                           severity=severity)
                x[a:] += impacts[a:]
            phases = (phases + 2 * np.pi * np.arange(1, 6) * rpm / 60.0 * d) % (2 * np.pi)
            if noise_rms is not None:
                x = x + (noise_rms * rng.standard_normal(len(x))).astype(np.float32)
            yield x.astype(np.float32)
            t += d
