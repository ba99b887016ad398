"""Case Western Reserve University bearing data: the Data Center's original MATLAB files.

File numbers map to conditions by the Data Center's published tables (12 kHz drive-end
fault data; normal baseline recorded at 48 kHz). Read with ``scipy.io.loadmat``; the channel
variable is found by its suffix (``_DE_time``, ``_FE_time``, ``_BA_time``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drsn_edge.data.recording import Recording
from drsn_edge.data.resample import resample
from drsn_edge.errors import DrsnEdgeError

NOMINAL_RPM = {0: 1797, 1: 1772, 2: 1750, 3: 1730}
CHANNEL_SUFFIX = {"DE": "_DE_time", "FE": "_FE_time", "BA": "_BA_time"}


@dataclass(frozen=True)
class CwruFile:
    number: int
    condition: str  # normal | inner_race | ball | outer_race
    fault_size: float | None  # inches
    load_hp: int
    fs: float
    position: str | None = None  # outer race: "6" (centred), "3" (orthogonal), "12" (opposite)


def _catalogue() -> dict[int, CwruFile]:
    cat: dict[int, CwruFile] = {}
    for load, num in enumerate((97, 98, 99, 100)):
        cat[num] = CwruFile(num, "normal", None, load, 48000.0)
    groups = [
        ("inner_race", 0.007, None, 105), ("ball", 0.007, None, 118), ("outer_race", 0.007, "6", 130),
        ("outer_race", 0.007, "3", 144), ("outer_race", 0.007, "12", 156),
        ("inner_race", 0.014, None, 169), ("ball", 0.014, None, 185), ("outer_race", 0.014, "6", 197),
        ("inner_race", 0.021, None, 209), ("ball", 0.021, None, 222), ("outer_race", 0.021, "6", 234),
        ("outer_race", 0.021, "3", 246), ("outer_race", 0.021, "12", 258),
        ("inner_race", 0.028, None, 3001), ("ball", 0.028, None, 3005),
    ]
    for cond, size, pos, first in groups:
        for load in range(4):
            cat[first + load] = CwruFile(first + load, cond, size, load, 12000.0, pos)
    return cat


CATALOGUE = _catalogue()

#: Label sets. ``10``: normal + 3 conditions x 3 sizes (outer race centred at 6 o'clock); ``4``: condition.
LABEL_SETS: dict[str, list[str]] = {
    "10": ["normal"] + [f"{c}_{s}" for s in ("0.007", "0.014", "0.021") for c in ("inner_race", "ball", "outer_race")],
    "4": ["normal", "inner_race", "ball", "outer_race"],
}


def class_of(entry: CwruFile, label_set: str) -> str | None:
    """The class name of a file in a label set, or None if the set leaves it out."""
    if label_set == "4":
        return entry.condition
    if label_set == "10":
        if entry.condition == "normal":
            return "normal"
        if entry.fault_size not in (0.007, 0.014, 0.021) or entry.position not in (None, "6"):
            return None
        return f"{entry.condition}_{entry.fault_size:.3f}"
    raise DrsnEdgeError(f"unknown CWRU label set {label_set!r}; choose from {', '.join(LABEL_SETS)}")


def read_mat_channels(path: Path, channels: tuple[str, ...]) -> tuple[np.ndarray, float | None]:
    """Read the named channels of one CWRU .mat file as ``(C, T)`` float32, and its RPM if stored."""
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
    except Exception as exc:  # scipy raises several types for damaged files
        raise DrsnEdgeError(f"{path}: not a readable MATLAB file ({exc})") from None
    rows = []
    for ch in channels:
        if ch not in CHANNEL_SUFFIX:
            raise DrsnEdgeError(f"unknown CWRU channel {ch!r}; choose from {', '.join(CHANNEL_SUFFIX)}")
        names = [k for k in mat if k.endswith(CHANNEL_SUFFIX[ch])]
        if not names:
            raise DrsnEdgeError(f"{path}: no {ch} channel (no variable ending in {CHANNEL_SUFFIX[ch]})")
        rows.append(np.asarray(mat[sorted(names)[0]], dtype=np.float32).ravel())
    n = min(len(r) for r in rows)
    rpm_keys = [k for k in mat if k.endswith("RPM")]
    rpm = float(np.asarray(mat[rpm_keys[0]]).ravel()[0]) if rpm_keys else None
    return np.stack([r[:n] for r in rows]), rpm


def load_cwru(
    data_dir: str | Path,
    label_set: str = "10",
    channels: tuple[str, ...] = ("DE",),
    fs: float = 12000.0,
    loads: tuple[int, ...] | None = None,
) -> tuple[list[Recording], list[str]]:
    """Load every catalogued .mat file in ``data_dir`` that the label set uses, resampled to ``fs``.

    Returns the recordings and the class names (index = label).
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DrsnEdgeError(f"CWRU data folder not found: {root}")
    class_names = LABEL_SETS.get(label_set)
    if class_names is None:
        raise DrsnEdgeError(f"unknown CWRU label set {label_set!r}; choose from {', '.join(LABEL_SETS)}")
    recordings: list[Recording] = []
    for path in sorted(root.glob("*.mat"), key=lambda p: p.name):
        m = re.fullmatch(r"(\d+)\.mat", path.name)
        entry = CATALOGUE.get(int(m.group(1))) if m else None
        if entry is None or (loads is not None and entry.load_hp not in loads):
            continue
        name = class_of(entry, label_set)
        if name is None:
            continue
        signal, rpm = read_mat_channels(path, channels)
        signal = resample(signal, entry.fs, fs)
        recordings.append(
            Recording(
                signal=signal,
                fs=fs,
                label=class_names.index(name),
                meta={
                    "source": "cwru", "file": path.name, "condition": entry.condition,
                    "fault_size_in": entry.fault_size, "load_hp": entry.load_hp,
                    "rpm": rpm or NOMINAL_RPM[entry.load_hp], "original_fs": entry.fs,
                },
            )
        )
    if not recordings:
        raise DrsnEdgeError(f"no CWRU recordings of label set {label_set!r} found in {root} (expected e.g. 105.mat)")
    present = {r.label for r in recordings}
    missing = [c for i, c in enumerate(class_names) if i not in present]
    if missing:
        raise DrsnEdgeError(f"CWRU folder {root} has no recordings for classes: {', '.join(missing)}")
    return recordings, class_names
