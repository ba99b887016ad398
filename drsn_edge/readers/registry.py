"""Which reader opens which file: the table of suffixes, and ``open_reader``.

Each reader module is imported when a file of its format is opened, so a missing optional library (soundfile, scipy,
h5py) matters only for its own format.
"""

from __future__ import annotations

import importlib
import stat
from pathlib import Path

from drsn_edge.errors import DrsnEdgeError, readable_os_error
from drsn_edge.readers.base import Reader, ReadOptions

#: suffix -> (module, class)
_READERS = {
    **dict.fromkeys((".wav", ".flac", ".ogg", ".aiff", ".aif"), ("drsn_edge.readers.audio", "AudioReader")),
    ".npy": ("drsn_edge.readers.numpy_file", "NumpyReader"),
    **dict.fromkeys((".csv", ".txt", ".tsv"), ("drsn_edge.readers.csv_file", "CsvReader")),
    ".mat": ("drsn_edge.readers.matlab", "MatReader"),
}
SUFFIXES = tuple(_READERS)


def is_readable(path: str | Path) -> bool:
    """Whether a file has a suffix some reader handles."""
    return Path(path).suffix.lower() in _READERS


def open_reader(path: str | Path, options: ReadOptions | None = None) -> Reader:
    """Open a recording with the reader for its suffix; a one-line error naming the file for anything wrong."""
    path = Path(path)
    if path.is_dir():
        raise DrsnEdgeError(f"{path} is a folder, not a recording file")
    if not path.exists():
        raise DrsnEdgeError(f"input file not found: {path}")
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):  # opening one blocks, reading it hangs
        raise DrsnEdgeError(f"{path}: a pipe or device, not a recording file: stream it as standard input "
                            f"(drsn-edge stream MODEL - --fs HZ --raw-channels N < {path})")
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
