"""NumPy ``.npy`` arrays, memory-mapped: ``(samples,)`` or ``(channels, samples)`` (see the layout convention)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from drsn_edge.readers.base import Block, FileInfo, Reader, ReadOptions, orient

SUFFIXES = (".npy",)


class NumpyReader(Reader):
    def __init__(self, path: str | Path, options: ReadOptions | None = None) -> None:
        super().__init__(path, options)
        try:
            arr = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # a damaged header raises ValueError, SyntaxError, tokenize errors, EOFError...
            text = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
            raise self.fail(f"not a readable NumPy .npy file ({type(exc).__name__}{': ' + text if text else ''})") from None
        if not isinstance(arr, np.ndarray):
            raise self.fail("not a single NumPy array (.npz archives are not supported; save one array with np.save)")
        if arr.dtype.kind not in "fiu" or arr.dtype.itemsize > 8:
            raise self.fail(f"array of type {arr.dtype} is not real numbers")
        channels, frames, self.transposed = orient(arr.shape, self.options.layout, str(self.path))
        self.arr = arr
        names = [str(i) for i in range(channels)]
        self.cols = self.select(names)
        self.info = FileInfo(str(self.path), "npy", self.resolve_rate(None), [names[c] for c in self.cols], frames)

    def _blocks(self, frames: int) -> Iterator[Block]:
        a = self.arr
        n = self.info.frames or 0
        for i in range(0, n, frames):
            if a.ndim == 1:
                x = a[i : i + frames][None]
            elif self.transposed:
                x = a[i : i + frames].T
            else:
                x = a[:, i : i + frames]
            try:
                yield Block(np.ascontiguousarray(x[self.cols], dtype=np.float32))
            except (OSError, ValueError) as exc:  # a file cut short after its header
                raise self.fail(f"cannot read samples {i}..{i + frames} ({exc})") from None

    def close(self) -> None:
        mm = getattr(self.arr, "_mmap", None)
        self.arr = None
        if mm is not None:
            mm.close()
