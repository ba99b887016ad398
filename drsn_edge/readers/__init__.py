"""One reader per file format, shared by training (datasets) and the device (stream sources). Torch-free.

``open_reader(path, options)`` picks the reader by suffix; every reader yields ``(channels, samples)`` float32
blocks in g plus the file's rate (see :mod:`drsn_edge.readers.base` for the layout convention).
"""

from __future__ import annotations

from pathlib import Path

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers.base import LAYOUTS, Block, FileInfo, Reader, ReadOptions

#: suffix -> (module, class); imported on use so a missing optional library only matters for its format
_READERS = {
    **dict.fromkeys((".wav", ".flac", ".ogg", ".aiff", ".aif"), ("drsn_edge.readers.audio", "AudioReader")),
    ".npy": ("drsn_edge.readers.numpy_file", "NumpyReader"),
    **dict.fromkeys((".csv", ".txt", ".tsv"), ("drsn_edge.readers.csv_file", "CsvReader")),
    ".mat": ("drsn_edge.readers.matlab", "MatReader"),
}
SUFFIXES = tuple(_READERS)

__all__ = ["LAYOUTS", "SUFFIXES", "Block", "FileInfo", "ReadOptions", "Reader", "is_readable", "open_reader"]


def is_readable(path: str | Path) -> bool:
    """Whether a file has a suffix some reader handles."""
    return Path(path).suffix.lower() in _READERS


def open_reader(path: str | Path, options: ReadOptions | None = None) -> Reader:
    """Open a recording with the reader for its suffix; a one-line error naming the file for anything wrong."""
    import importlib

    path = Path(path)
    if path.is_dir():
        raise DrsnEdgeError(f"{path} is a folder, not a recording file")
    if not path.exists():
        raise DrsnEdgeError(f"input file not found: {path}")
    entry = _READERS.get(path.suffix.lower())
    if entry is None:
        raise DrsnEdgeError(f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(SUFFIXES)}")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise DrsnEdgeError(f"{path}: cannot be opened ({readable_os_error(exc)})") from None
    module, cls = entry
    return getattr(importlib.import_module(module), cls)(path, options)


def readable_os_error(exc: OSError) -> str:
    """An OS error as a sentence ("permission denied"), not "System error." or "[Errno 13] ..."."""
    import errno

    names = {errno.EACCES: "permission denied", errno.EPERM: "permission denied", errno.ENOENT: "no such file",
             errno.EISDIR: "it is a folder", errno.EIO: "input/output error (damaged disk or network share?)",
             errno.ENOSPC: "no space left on the device"}
    return names.get(exc.errno, (exc.strerror or str(exc)).lower())
