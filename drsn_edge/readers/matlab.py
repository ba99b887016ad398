"""MATLAB ``.mat`` files: v5 (SciPy, after a structural check; plain numeric variables memory-mapped) and v7.3
(HDF5, through h5py). Variables are picked by name or dotted path into structs (``bearing.gs``); the rate comes from
a rate variable (``bearing.sr``), a sibling or top-level variable named like one, or a naming rule (CWRU)."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from drsn_edge.readers.base import Block, FileInfo, Reader, ReadOptions, orient
from drsn_edge.readers.mat5_check import MatFormatError, check_mat5

SUFFIXES = (".mat",)
#: Variables that hold the shaft speed, by unit: CWRU's ``X105RPM`` (rpm), MFPT's ``bearing.rate`` (Hz).
SPEED_RPM = re.compile(r"^(X\d+RPM|rpm|RPM|speed_rpm)$")
SPEED_HZ = ("rate", "shaft_hz", "shaft_rate")
#: Variable names that hold a sample rate (never ``rate``: MFPT's ``bearing.rate`` is the shaft rate).
RATE_NAMES = ("sr", "fs", "Fs", "FS", "SR", "sample_rate", "sampling_rate", "samplerate", "SampleRate", "SamplingRate",
              "sampling_frequency", "SamplingFrequency")
#: A variable counts as a signal when its longer side has at least this many samples.
MIN_SIGNAL = 256

# ---- the CWRU Bearing Data Center's naming rule -----------------------------------------------------------------
#: ``X<number>_DE_time`` (drive end), ``_FE_time`` (fan end), ``_BA_time`` (base); the drive end by default.
CWRU_CHANNELS = {"DE": "_DE_time", "FE": "_FE_time", "BA": "_BA_time"}
#: Sampling rates by file number, from the Data Center's tables: the normal baselines (97-100) at 48 kHz and the
#: 12 kHz drive-end fault files (first number of each group of four loads). Other CWRU files: give the rate.
CWRU_RATES: dict[int, float] = {n: 48000.0 for n in (97, 98, 99, 100)} | {
    first + load: 12000.0
    for first in (105, 118, 130, 144, 156, 169, 185, 197, 209, 222, 234, 246, 258, 3001, 3005)
    for load in range(4)
}
_CWRU_VAR = re.compile(r"^X(\d+)_(DE|FE|BA)_time$")


@dataclass
class _Var:
    """A variable found in the file: its path, logical MATLAB shape, and where its numbers are."""

    path: str
    shape: tuple[int, ...]
    getter: Any  # (start, stop) along samples -> (channels, n), once oriented


def _mat_version(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(128)
        f.seek(512)
        hdf = f.read(8)
    if hdf == b"\x89HDF\r\n\x1a\n" or b"MATLAB 7.3" in head:
        return "7.3"
    if len(head) >= 128 and head[126:128] in (b"IM", b"MI"):
        return "5"
    if head[:4] in (b"\x00\x00\x00\x00",) or len(head) < 128:
        return "4?"
    return "?"


class MatReader(Reader):
    def __init__(self, path: str | Path, options: ReadOptions | None = None) -> None:
        super().__init__(path, options)
        try:
            version = _mat_version(self.path)
        except OSError as exc:
            raise self.fail(f"cannot read: {exc.strerror or exc}") from None
        self.version = version
        self._close: list[Any] = []
        self.vars: list[_Var] = []
        self._loaded: dict[str, Any] = {}
        notes: list[str] = []
        if version == "5":
            self._open_v5()
        elif version == "7.3":
            self._open_v73()
        else:
            raise self.fail("not a MATLAB v5 or v7.3 file (no MAT-file header; v4 files are not supported)")
        names = self._choose(notes)
        self.vars = [self._var(n) for n in names]
        oriented = [orient(v.shape, self.options.layout, f"{self.path} variable {v.path}") for v in self.vars]
        frames = min(o[1] for o in oriented)
        if len({o[1] for o in oriented}) > 1:
            notes.append(f"variables differ in length; reading the first {frames} samples of each")
        self.oriented = oriented
        channel_names = []
        for v, (c, _, _) in zip(self.vars, oriented):
            # a CWRU variable by its sensor, the name --channels takes and a model trained on CWRU records (X105_DE_time
            # and X118_DE_time are one channel, DE: a stream of 118.mat is on the machine of a model trained on DE)
            name = m.group(2) if (m := _CWRU_VAR.match(v.path)) else v.path
            channel_names += [name] if c == 1 else [f"{name}[{i}]" for i in range(c)]
        fs = self.resolve_rate(self._rate(names, notes))
        self.info = FileInfo(str(self.path), f"mat-v{version}", fs, channel_names, frames, notes, self._speed(names))

    # ---- v5 --------------------------------------------------------------------------------------------------
    def _open_v5(self) -> None:
        try:
            with open(self.path, "rb") as f:
                self.mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise self.fail(f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        try:
            self.layout = check_mat5(self.mm)
        except MatFormatError as exc:
            self.close_mapping()
            raise self.fail(f"damaged MATLAB file: {exc}") from None
        self._close.append(self.mm)
        self.top = dict(self.layout)

    def _load_v5(self, top: str) -> Any:
        if top not in self._loaded:
            from scipy.io import loadmat

            try:
                self._loaded.update(loadmat(self.path, variable_names=[top], simplify_cells=True))
            except Exception as exc:  # after the structural check, only unusual content gets here
                raise self.fail(f"cannot read variable {top!r} ({_reason(exc)})") from None
        return self._loaded[top]

    # ---- v7.3 ------------------------------------------------------------------------------------------------
    def _open_v73(self) -> None:
        try:
            import h5py
        except ImportError:
            raise self.fail("is a MATLAB v7.3 (HDF5) file: reading it needs h5py (pip install h5py)") from None
        try:
            self.h5 = h5py.File(self.path, "r")
        except Exception as exc:
            raise self.fail(f"damaged MATLAB v7.3 (HDF5) file ({str(exc).splitlines()[0][:160]})") from None
        self._close.append(self.h5)
        self.top = {k: None for k in self.h5.keys() if not k.startswith("#")}

    # ---- variables -------------------------------------------------------------------------------------------
    def _node(self, path: str) -> Any:
        """The array (v5: numpy / dict from SciPy; v7.3: an h5py object) at a dotted path, or None."""
        parts = path.split(".")
        if parts[0] not in self.top:
            return None
        if self.version == "7.3":
            node = self.h5
            for p in parts:
                if not hasattr(node, "keys") or p not in node:
                    return None
                node = node[p]
            return node
        lay = self.top[parts[0]]
        if len(parts) == 1 and lay is not None and lay.mappable:
            return lay
        node = self._load_v5(parts[0])
        for p in parts[1:]:
            if not isinstance(node, dict) or p not in node:
                return None
            node = node[p]
        return node

    def _shape(self, node: Any) -> tuple[int, ...] | None:
        """Logical (MATLAB) shape of a real numeric array node, or None if it is not one."""
        if self.version == "7.3":
            import h5py

            if not isinstance(node, h5py.Dataset) or node.dtype.kind not in "fiu" or node.attrs.get("MATLAB_class") in (
                    b"char", b"logical"):
                return None
            return tuple(reversed(node.shape))
        if hasattr(node, "mappable"):
            return node.dims
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            return (1, 1)
        if isinstance(node, np.ndarray) and node.dtype.kind in "fiu":
            return node.shape if node.ndim >= 1 else (1, 1)
        return None

    def _signal_like(self) -> list[str]:
        """Paths of numeric arrays long enough to be a signal: top level and one level into structs."""
        found = []
        for top in self.top:
            if top.startswith("__"):
                continue
            node = self._node(top)
            shape = self._shape(node)
            if shape is not None:
                if max(shape, default=0) >= MIN_SIGNAL and len(shape) <= 2:
                    found.append(top)
                continue
            children = node.keys() if hasattr(node, "keys") else []
            for k in children:
                s = self._shape(self._node(f"{top}.{k}"))
                if s is not None and max(s, default=0) >= MIN_SIGNAL and len(s) <= 2:
                    found.append(f"{top}.{k}")
        return found

    def _choose(self, notes: list[str]) -> list[str]:
        wanted = self.options.channels
        cwru = {m.group(2): n for n in self.top if (m := _CWRU_VAR.match(n))}
        if wanted:
            out = []
            for w in wanted:
                if w.upper() in CWRU_CHANNELS and w not in self.top:
                    hit = cwru.get(w.upper())
                    if hit is None:
                        raise self.fail(f"no {w.upper()} channel (no variable ending in {CWRU_CHANNELS[w.upper()]})")
                    out.append(hit)
                elif self._shape(self._node(w)) is not None:
                    out.append(w)
                else:
                    found = ", ".join(self._signal_like()) or "none"
                    raise self.fail(f"no numeric variable {w!r}; signal-like variables: {found}")
            return out
        if "DE" in cwru:
            return [cwru["DE"]]
        found = self._signal_like()
        if len(found) == 1:
            return found
        if not found:
            raise self.fail("no numeric variable long enough to be a signal")
        raise self.fail(f"several signal variables ({', '.join(found[:8])}); choose with --channels (e.g. {found[0]})")

    def _var(self, path: str) -> _Var:
        node = self._node(path)
        shape = self._shape(node)
        assert shape is not None
        if len(shape) > 2:
            raise self.fail(f"variable {path} has {len(shape)} dimensions; expected a vector or a 2-D array")
        if self.version == "7.3":
            return _Var(path, shape, lambda r, c, transposed, n=node: _h5_slice(n, r, c, transposed))
        if hasattr(node, "mappable"):
            arr = np.ndarray(shape=tuple(reversed(shape)), dtype=node.dtype, buffer=self.mm, offset=node.offset).T
        else:
            arr = np.asarray(node, dtype=np.float64)
            arr = arr.reshape(shape)
        return _Var(path, shape, lambda r, c, transposed, a=arr: (a[r : r + c].T if transposed else a[:, r : r + c])
                    if a.ndim == 2 else a[r : r + c][None])

    def _scalar(self, path: str) -> float | None:
        node = self._node(path)
        if node is None:
            return None
        try:
            if self.version == "7.3":
                vals = np.asarray(node[()], dtype=np.float64).ravel()
            elif hasattr(node, "mappable"):
                vals = np.asarray(np.ndarray(shape=(int(np.prod(node.dims)),), dtype=node.dtype, buffer=self.mm,
                                             offset=node.offset), dtype=np.float64)
            else:
                vals = np.asarray(node, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            return None
        return float(vals[0]) if vals.size == 1 else None

    def _rate(self, names: list[str], notes: list[str]) -> float | None:
        if self.options.rate_variable:
            v = self._scalar(self.options.rate_variable)
            if v is None:
                raise self.fail(f"no scalar rate variable {self.options.rate_variable!r}")
            return v
        parent = names[0].rpartition(".")[0]
        for cand in [f"{parent}.{r}" if parent else r for r in RATE_NAMES] + ([*RATE_NAMES] if parent else []):
            v = self._scalar(cand)
            if v is not None:
                notes.append(f"sample rate {v:g} Hz from variable {cand}")
                return v
        m = _CWRU_VAR.match(names[0].split(".")[0])
        if m and int(m.group(1)) in CWRU_RATES and self.path.stem.isdigit() and int(self.path.stem) == int(m.group(1)):
            return CWRU_RATES[int(m.group(1))]
        return None

    def _speed(self, names: list[str]) -> float | None:
        """The shaft speed in Hz the file records beside its signal, if it does."""
        parent = names[0].rpartition(".")[0]
        for cand in (f"{parent}.{n}" if parent else n for n in SPEED_HZ):
            v = self._scalar(cand)
            if v is not None and 0 < v < 2000:
                return v
        for n in self.top:
            if SPEED_RPM.match(n):
                v = self._scalar(n)
                if v is not None and 0 < v < 120_000:
                    return v / 60.0
        return None

    def _blocks(self, frames: int) -> Iterator[Block]:
        total = self.info.frames or 0
        for i in range(0, total, frames):
            n = min(frames, total - i)
            parts = [np.asarray(v.getter(i, n, o[2]), dtype=np.float32).reshape(o[0], -1)[:, :n]
                     for v, o in zip(self.vars, self.oriented)]
            yield Block(np.ascontiguousarray(np.concatenate(parts, axis=0)))

    def close_mapping(self) -> None:
        try:
            self.mm.close()
        except BufferError:  # a view still points into it; it closes when that view goes
            pass

    def close(self) -> None:
        self.vars, self._loaded = [], {}
        for c in self._close:
            try:
                c.close()
            except BufferError:  # a caller still holds a view into the mapping; it closes when that goes
                pass
        self._close.clear()


def _h5_slice(ds: Any, start: int, n: int, transposed: bool) -> np.ndarray:
    """Samples ``start:start+n`` of a v7.3 dataset as (channels, n). HDF5 holds a MATLAB (R, C) array as (C, R)."""
    if ds.ndim == 1:
        return ds[start : start + n][None]
    return ds[:, start : start + n] if transposed else ds[start : start + n, :].T


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:160]}" if text else type(exc).__name__
