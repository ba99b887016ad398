"""Data sources by name (``sim``, ``cwru``), with a plain folder or a manifest CSV as the fallback for a path
(after timm's dataset factory): each source owns its options and defaults."""

from __future__ import annotations

from pathlib import Path

from drsn_edge.data.sources.base import DataSource, FileEntry, SourceData, read_entries
from drsn_edge.data.sources.cwru import CwruSource
from drsn_edge.data.sources.files import FolderSource, ManifestSource
from drsn_edge.data.sources.mix import MixSource
from drsn_edge.data.sources.sim import SimSource
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers import is_manifest, is_readable

SOURCES: dict[str, DataSource] = {s.name: s for s in (SimSource(), CwruSource(), FolderSource(), ManifestSource())}
SOURCES["mix"] = MixSource(SOURCES)
#: names a user types for --data; folder and manifest are chosen by giving a path
REGISTERED = ("sim", "cwru")

__all__ = ["REGISTERED", "SOURCES", "DataSource", "FileEntry", "SourceData", "get_source", "read_entries", "resolve_data"]


def get_source(name: str) -> DataSource:
    if name not in SOURCES:
        raise DrsnEdgeError(f"unknown data source {name!r}; choose from {', '.join(REGISTERED)} or give a folder / manifest")
    return SOURCES[name]


def resolve_data(text: str) -> tuple[str, str | None]:
    """``--data`` text -> (source name, root path or None): a registered name, names joined by ``+`` (a mix), a folder,
    a manifest CSV, or one recording (the folder source, unlabelled use only)."""
    if text in REGISTERED:
        return text, None
    if "+" in text and all(part in REGISTERED for part in text.split("+")):
        return "mix", None
    p = Path(text)
    if p.is_dir():
        return "folder", text
    if is_manifest(p):
        return "manifest", text
    if p.is_file() and is_readable(p):  # one recording: enough to enrol or adapt on (labels are not read there)
        return "folder", text
    if p.exists():
        raise DrsnEdgeError(f"--data {text}: neither a recording nor a manifest (a CSV with a 'path' column); give a "
                            "recording, the folder of recordings or a manifest")
    raise DrsnEdgeError(f"--data {text}: not a registered dataset ({', '.join(REGISTERED)}, or several joined by +), "
                        "and no such folder or manifest")
