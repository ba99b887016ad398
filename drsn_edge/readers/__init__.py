"""One reader per file format, shared by training (datasets) and the device (stream sources), and the one reader of
manifests and folders. Torch-free.

``open_reader(path, options)`` picks the reader by suffix; every reader yields ``(channels, samples)`` float32
blocks in g plus the file's rate (see :mod:`drsn_edge.readers.base` for the layout convention).
"""

from drsn_edge.errors import readable_os_error
from drsn_edge.readers.base import LAYOUTS, Block, FileInfo, Reader, ReadOptions
from drsn_edge.readers.manifest import (
    MANIFEST_COLUMNS,
    ManifestRow,
    data_stamp,
    is_manifest,
    no_recordings,
    read_manifest,
    scale_factor,
    split_channels,
    walk_recordings,
)
from drsn_edge.readers.registry import SUFFIXES, is_readable, open_reader

__all__ = ["LAYOUTS", "MANIFEST_COLUMNS", "SUFFIXES", "Block", "FileInfo", "ManifestRow", "ReadOptions", "Reader",
           "data_stamp", "is_manifest", "is_readable", "no_recordings", "open_reader", "read_manifest",
           "readable_os_error", "scale_factor", "split_channels", "walk_recordings"]
