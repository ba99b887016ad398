"""CSV / text columns: header row detected, columns by name or number, an optional time column (rate and gaps),
read in blocks of rows."""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drsn_edge.readers.base import Block, FileInfo, Reader, ReadOptions

SUFFIXES = (".csv", ".txt", ".tsv")
_TIME_NAME = re.compile(r"^\s*(t|time|times|timestamp|time[_ ]?\(?s\)?|time_sec|seconds|secs?|elapsed(_s)?)\s*$", re.I)
_DELIMITERS = (",", ";", "\t")
#: A gap is a step longer than this many nominal sample intervals.
GAP_FACTOR = 1.5
#: Columns a CSV file may have (sensors and a time column).
MAX_COLUMNS = 4096
#: Rows used to find the rate from the time column.
RATE_ROWS = 1024


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


class CsvReader(Reader):
    def __init__(self, path: str | Path, options: ReadOptions | None = None) -> None:
        super().__init__(path, options)
        try:
            self.f = open(self.path, encoding="utf-8-sig", errors="strict", newline="")
            first, self._row0 = self._first_line()
        except UnicodeDecodeError:
            raise self.fail("not a text (CSV) file: it holds bytes that are not UTF-8 text") from None
        except OSError as exc:
            raise self.fail(f"cannot read: {exc.strerror or exc}") from None
        if first is None:
            raise self.fail("no data rows")
        self.delim = next((d for d in _DELIMITERS if d in first), None)  # None: whitespace
        fields = self._split(first)
        if len(fields) > MAX_COLUMNS:  # every row is parsed whole: 10^6 columns took 120x the file's size in memory
            raise self.fail(f"{len(fields)} columns; drsn-edge reads CSV files of at most {MAX_COLUMNS} (a recording "
                            "with more channels than that: store it as .npy)")
        self.header = not all(_is_number(v) for v in fields if v.strip())
        names = [v.strip() or str(i) for i, v in enumerate(fields)] if self.header else [str(i) for i in range(len(fields))]
        self.width = len(fields)
        notes: list[str] = []
        self.time_col = self._time_column(names, notes)
        sensor_names = [n for i, n in enumerate(names) if i != self.time_col]
        sensor_idx = [i for i in range(len(names)) if i != self.time_col]
        picked = self.select(sensor_names)
        self.cols = [sensor_idx[i] for i in picked]
        if not self.cols:
            raise self.fail("no sensor column (only a time column)")
        own_rate, self.step = None, None
        head = self._peek_rows(RATE_ROWS)
        if self.time_col is not None:
            own_rate, self.step = self._rate_from_time(head)
        else:
            self._refuse_time_like(head, names)
        if own_rate is not None and self.options.fs is not None:
            fs = self._check_given_rate(own_rate)
        else:
            fs = self.resolve_rate(own_rate, " by its time column")
        self.info = FileInfo(str(self.path), "csv", fs, [names[c] for c in self.cols], None, notes)

    # ---- parsing -----------------------------------------------------------------------------------------------
    def _first_line(self) -> tuple[str | None, int]:
        for i, line in enumerate(self.f):
            s = line.strip()
            if s and not s.startswith("#"):
                return s, i
        return None, 0

    def _split(self, line: str) -> list[str]:
        return line.split(self.delim) if self.delim else line.split()

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(row number in the file, line) of every data row, from the start."""
        self.f.seek(0)
        i = -1
        try:
            for i, line in enumerate(self.f):
                s = line.strip()
                if not s or s.startswith("#"):
                    continue
                if self.header and i == self._row0:
                    continue
                yield i + 1, s
        except UnicodeDecodeError:
            raise self.fail(f"row {i + 2} holds bytes that are not UTF-8 text: not a text (CSV) file there") from None

    def _parse(self, rows: list[tuple[int, str]]) -> np.ndarray:
        text = "\n".join(s for _, s in rows)
        try:
            arr = np.loadtxt(io.StringIO(text), delimiter=self.delim, dtype=np.float64, ndmin=2, comments=None)
        except ValueError:
            arr = None
        if arr is None or arr.shape[1] != self.width:
            for n, s in rows:  # find the row to name in the message
                vals = self._split(s)
                if len(vals) != self.width:
                    raise self.fail(f"row {n} has {len(vals)} columns, the first row has {self.width}")
                bad = next((j for j, v in enumerate(vals) if not _is_number(v)), None)
                if bad is not None:
                    raise self.fail(f"row {n}, column {bad + 1}: {vals[bad].strip()[:40]!r} is not a number")
            raise self.fail("rows do not parse as numbers")
        return arr

    def _peek_rows(self, n: int) -> np.ndarray:
        rows = list(itertools.islice(self._lines(), n))
        if not rows:
            raise self.fail("no data rows")
        return self._parse(rows)

    # ---- time column -------------------------------------------------------------------------------------------
    def _time_column(self, names: list[str], notes: list[str]) -> int | None:
        tc = self.options.time_column
        if tc is not None:
            if tc in names:
                return names.index(tc)
            if tc.lstrip("-").isdigit() and -len(names) <= int(tc) < len(names):
                return int(tc) % len(names)
            raise self.fail(f"no time column {tc!r}; columns are {', '.join(names)}")
        if self.header:
            named = [i for i, n in enumerate(names) if _TIME_NAME.match(n)]
            if len(named) == 1:
                notes.append(f"column {names[named[0]]!r} read as time stamps (rate and gaps from it)")
                return named[0]
        return None

    def _rate_from_time(self, head: np.ndarray) -> tuple[float, float]:
        t = head[:, self.time_col]
        if not np.all(np.isfinite(t)):
            row = int(np.argmin(np.isfinite(t)))
            raise self.fail(f"data row {row + 1}: time stamp is not a number")
        if len(t) < 2:
            raise self.fail("one row is not enough to find the sample rate from the time column")
        dt = np.diff(t)
        if np.any(dt <= 0):
            row = int(np.argmax(dt <= 0)) + 2
            raise self.fail(f"time stamps do not increase at data row {row}")
        step = float(np.median(dt))
        if not (math.isfinite(step) and step > 0):
            raise self.fail("time stamps do not give a sample rate")
        return float(f"{1.0 / step:.9g}"), step  # 1 / 8.33e-5 s is 12000 Hz, not 12000.000000000011

    def _check_given_rate(self, own: float) -> float:
        given = float(self.options.fs)
        if abs(given - own) > 0.01 * own:
            raise self.fail(f"its time column says {own:.6g} Hz, not {given:g} Hz as given")
        return given

    def _refuse_time_like(self, head: np.ndarray, names: list[str]) -> None:
        """A steadily increasing column is almost surely time stamps: streaming it as a sensor raises false alarms."""
        if len(head) < 16:
            return
        for c in self.cols:
            d = np.diff(head[:, c])
            if np.all(d > 0) and np.std(d) <= 0.01 * np.mean(d):
                raise self.fail(f"column {names[c]!r} increases steadily like time stamps; use it as time with "
                                f"--time-column {names[c]}, or pick the sensor columns with --channels")

    # ---- blocks ------------------------------------------------------------------------------------------------
    def _blocks(self, frames: int) -> Iterator[Block]:
        lines = self._lines()
        last_t: float | None = None
        row = 0
        while True:
            rows = list(itertools.islice(lines, frames))
            if not rows:
                return
            arr = self._parse(rows)
            data = arr[:, self.cols].T
            if self.time_col is None:
                yield Block(data)
                row += len(arr)
                continue
            t = arr[:, self.time_col]
            if not np.all(np.isfinite(t)):
                bad = int(np.argmin(np.isfinite(t)))
                raise self.fail(f"row {rows[bad][0]}: time stamp is not a number")
            dt = np.diff(np.concatenate([[last_t], t])) if last_t is not None else np.diff(t, prepend=t[0] - self.step)
            back = np.nonzero(dt <= 0)[0]
            if back.size:
                raise self.fail(f"row {rows[int(back[0])][0]}: time stamp does not increase")
            cuts = [int(i) for i in np.nonzero(dt > GAP_FACTOR * self.step)[0]]
            bounds = [0, *[c for c in cuts if c > 0], len(arr)]
            first_gap = bool(cuts and cuts[0] == 0)
            for k in range(len(bounds) - 1):
                if bounds[k + 1] > bounds[k]:
                    gap = (k > 0) or first_gap
                    missing = float(dt[bounds[k]] - self.step) if gap else 0.0  # the time the gap took
                    yield Block(data[:, bounds[k] : bounds[k + 1]], gap_before=gap, gap_s=missing)
            last_t = float(t[-1])
            row += len(arr)

    def close(self) -> None:
        self.f.close()
