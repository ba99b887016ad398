"""Structural check of a MATLAB v5 file before SciPy parses it.

SciPy's compiled MAT-v5 reader trusts the sizes written in the file: a damaged file (a numeric array whose data
is shorter than its dimensions say, a tag pointing past its parent) can crash the whole process. This walks every
data element (MATLAB "MAT-File Format", R2019b, chapter 1) and refuses anything inconsistent with a one-line
reason, so SciPy only ever sees well-formed structure.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from dataclasses import dataclass

import numpy as np

#: Data types (miXXX) and their item sizes; miUTF8 is variable length.
_ITEM = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MATRIX, _COMPRESSED = 14, 15
_CELL, _STRUCT, _OBJECT, _CHAR, _SPARSE = 1, 2, 3, 4, 5
_NUMERIC = set(range(6, 16))
_FUNCTION, _OPAQUE = 16, 17
#: Limits far beyond any vibration recording, so that a damaged size field cannot make us allocate gigabytes.
MAX_ELEMENTS = 1 << 31
MAX_DECOMPRESSED = 1 << 31
MAX_DEPTH = 32


class MatFormatError(ValueError):
    """The file is not a well-formed MAT-v5 file; the message says where."""


#: numpy type codes of the numeric data types
_NP = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}


@dataclass
class VarLayout:
    """A top-level variable. ``mappable``: real numeric, stored uncompressed, so its numbers can be memory-mapped
    at ``offset`` (column-major, of type ``dtype``)."""

    name: str
    dims: tuple[int, ...]
    mappable: bool = False
    dtype: np.dtype | None = None
    offset: int = 0


class _Walker:
    def __init__(self, data: bytes | memoryview, endian: str) -> None:
        self.data = memoryview(data)
        self.e = endian

    def tag(self, pos: int, end: int) -> tuple[int, int, int, int]:
        """(type, nbytes, data start, next element) of the element at ``pos`` inside ``[pos, end)``."""
        if pos + 8 > end:
            raise MatFormatError(f"element tag at byte {pos} runs past its container")
        first, second = struct.unpack_from(self.e + "II", self.data, pos)
        small = first >> 16
        if small:  # small data element: up to 4 bytes packed into the tag
            dtype, nbytes = first & 0xFFFF, small
            if nbytes > 4:
                raise MatFormatError(f"small data element at byte {pos} claims {nbytes} bytes")
            return dtype, nbytes, pos + 4, pos + 8
        dtype, nbytes = first, second
        start = pos + 8
        stop = start + nbytes
        if dtype != _COMPRESSED:
            stop += (-nbytes) % 8  # padded to 8 bytes
        if start + nbytes > end:
            raise MatFormatError(f"element at byte {pos} declares {nbytes} bytes, only {end - start} remain")
        return dtype, nbytes, start, min(stop, end)

    def ints(self, pos: int, end: int, what: str) -> tuple[list[int], int]:
        dtype, nbytes, start, nxt = self.tag(pos, end)
        size = _ITEM.get(dtype)
        if dtype not in (5, 6) or nbytes % 4:
            raise MatFormatError(f"{what} at byte {pos} has type {dtype} and {nbytes} bytes")
        fmt = self.e + ("i" if dtype == 5 else "I") * (nbytes // size)
        return list(struct.unpack_from(fmt, self.data, start)), nxt

    def numeric(self, pos: int, end: int, count: int, what: str) -> int:
        dtype, nbytes, _, nxt = self.tag(pos, end)
        size = _ITEM.get(dtype)
        if size is None or dtype in (16, 17, 18):
            raise MatFormatError(f"{what} at byte {pos}: data type {dtype} is not numeric")
        if nbytes != count * size:
            raise MatFormatError(f"{what} at byte {pos}: {nbytes} bytes of data for {count} values of {size} bytes")
        return nxt

    def matrix(self, pos: int, end: int, depth: int, found: list[VarLayout] | None = None) -> int:
        """Check one miMATRIX element starting at its tag; return the position after it. At the top level, the
        variable's name and layout are appended to ``found``."""
        if depth > MAX_DEPTH:
            raise MatFormatError("variables nested too deeply")
        dtype, nbytes, start, nxt = self.tag(pos, end)
        if dtype != _MATRIX:
            raise MatFormatError(f"expected a matrix at byte {pos}, found data type {dtype}")
        if nbytes == 0:
            return nxt  # an empty placeholder (e.g. an empty cell entry)
        stop = start + nbytes
        flags, p = self.ints(start, stop, "array flags")
        if len(flags) != 2:
            raise MatFormatError(f"array flags at byte {start} have {len(flags)} words")
        cls, is_complex = flags[0] & 0xFF, bool(flags[0] & 0x800)
        if cls == _OPAQUE:
            return self._skip_children(p, stop, nxt, depth)
        dims, p = self.ints(p, stop, "dimensions")
        if len(dims) < 2 or any(d < 0 for d in dims):
            raise MatFormatError(f"matrix at byte {pos} has dimensions {dims}")
        count = 1
        for d in dims:
            count *= d
        if count > MAX_ELEMENTS:
            raise MatFormatError(f"matrix at byte {pos} declares {count} elements")
        ndt, nn, nstart, p = self.tag(p, stop)  # array name
        if ndt not in (1, 2):
            raise MatFormatError(f"array name at byte {pos} has data type {ndt}")
        if found is not None:
            name = bytes(self.data[nstart : nstart + nn]).decode("latin-1")
            found.append(VarLayout(name, tuple(dims)))
        if cls in _NUMERIC:
            if found is not None and not is_complex:
                rdt, _, rstart, _ = self.tag(p, stop)
                if rdt in _NP:
                    found[-1].mappable, found[-1].dtype, found[-1].offset = True, np.dtype(self.e + _NP[rdt]), rstart
            p = self.numeric(p, stop, count, "real part")
            if is_complex:
                p = self.numeric(p, stop, count, "imaginary part")
        elif cls == _CHAR:
            cdt, cn, _, p = self.tag(p, stop)
            if cdt not in (1, 2, 3, 4, 16, 17, 18) or (cdt != 16 and cn != count * _ITEM[cdt]):
                raise MatFormatError(f"text at byte {pos} does not match its dimensions")
        elif cls == _SPARSE:
            nzmax = flags[1]
            ir, p = self.ints(p, stop, "sparse row indices")
            jc, p = self.ints(p, stop, "sparse column indices")
            if len(dims) != 2 or len(jc) != dims[1] + 1 or len(ir) < min(nzmax, jc[-1] if jc else 0):
                raise MatFormatError(f"sparse matrix at byte {pos} has inconsistent indices")
            if any(b < a for a, b in zip(jc, jc[1:])) or (jc and (jc[0] != 0 or jc[-1] > len(ir))):
                raise MatFormatError(f"sparse matrix at byte {pos} has inconsistent indices")
            if any(not 0 <= r < max(dims[0], 1) for r in ir[: jc[-1] if jc else 0]):
                raise MatFormatError(f"sparse matrix at byte {pos} has row indices out of range")
            nnz = jc[-1] if jc else 0
            dt, n, _, p = self.tag(p, stop)
            if _ITEM.get(dt) is None or n < nnz * _ITEM[dt]:
                raise MatFormatError(f"sparse matrix at byte {pos} has too few values")
            if is_complex:
                dt, n, _, p = self.tag(p, stop)
                if _ITEM.get(dt) is None or n < nnz * _ITEM[dt]:
                    raise MatFormatError(f"sparse matrix at byte {pos} has too few imaginary values")
        elif cls == _CELL:
            for _ in range(count):
                p = self.matrix(p, stop, depth + 1)
        elif cls in (_STRUCT, _OBJECT):
            if cls == _OBJECT:
                cdt, _, _, p = self.tag(p, stop)  # class name
                if cdt not in (1, 2):
                    raise MatFormatError(f"object class name at byte {pos} has data type {cdt}")
            length, p = self.ints(p, stop, "field name length")
            if len(length) != 1 or not 0 < length[0] <= 4096:
                raise MatFormatError(f"struct at byte {pos} has field name length {length}")
            ndt, nn, _, p = self.tag(p, stop)
            if ndt not in (1, 2) or nn % length[0]:
                raise MatFormatError(f"struct at byte {pos} has malformed field names")
            fields = nn // length[0]
            if fields * count > MAX_ELEMENTS:
                raise MatFormatError(f"struct at byte {pos} declares too many fields")
            for _ in range(fields * count):
                p = self.matrix(p, stop, depth + 1)
        elif cls == _FUNCTION:
            return self._skip_children(p, stop, nxt, depth)
        else:
            raise MatFormatError(f"matrix at byte {pos} has unknown class {cls}")
        if p > stop:
            raise MatFormatError(f"matrix at byte {pos} overruns its declared size")
        return nxt

    def _skip_children(self, p: int, stop: int, nxt: int, depth: int) -> int:
        """Opaque objects and function handles: only check that every sub-element fits."""
        while p < stop:
            dt, _, start, after = self.tag(p, stop)
            if dt == _MATRIX:
                self.matrix(p, stop, depth + 1)
            p = after
        return nxt


def check_mat5(data: bytes | memoryview | mmap.mmap) -> dict[str, VarLayout]:
    """Raise :class:`MatFormatError` unless ``data`` (a whole MAT-v5 file) is structurally sound; return its
    top-level variables by name."""
    if len(data) < 128:
        raise MatFormatError("shorter than the 128-byte MAT-file header")
    marker = bytes(data[126:128])
    if marker not in (b"IM", b"MI"):
        raise MatFormatError("no MAT-v5 endian marker in the header")
    endian = "<" if marker == b"IM" else ">"
    version = struct.unpack_from(endian + "H", data, 124)[0]
    if version != 0x0100:
        raise MatFormatError(f"unknown MAT-file version 0x{version:04x}")
    w = _Walker(data, endian)
    try:
        return _walk(w, len(data), endian)
    finally:
        w.data.release()  # a view into a caller's mmap must not outlive the check (the mmap could not close)


def _walk(w: _Walker, end: int, endian: str) -> dict[str, VarLayout]:
    pos = 128
    found: list[VarLayout] = []
    while pos < end:
        if end - pos < 8:
            break  # trailing padding
        dtype, nbytes, start, nxt = w.tag(pos, end)
        if dtype == _COMPRESSED:
            inner = _inflate(bytes(w.data[start : start + nbytes]), pos)
            n = len(found)
            _Walker(inner, endian).matrix(0, len(inner), 0, found)
            for v in found[n:]:
                v.mappable = False  # its numbers live in the compressed stream, not in the file
        elif dtype == _MATRIX:
            w.matrix(pos, end, 0, found)
        else:
            raise MatFormatError(f"top-level element at byte {pos} has data type {dtype}, not a variable")
        pos = nxt
    return {v.name: v for v in found}


def _inflate(raw: bytes, pos: int) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, MAX_DECOMPRESSED)
    except zlib.error as exc:
        raise MatFormatError(f"compressed variable at byte {pos} is damaged ({exc})") from None
    if d.unconsumed_tail:
        raise MatFormatError(f"compressed variable at byte {pos} expands beyond {MAX_DECOMPRESSED >> 30} GiB")
    return out
