"""Where samples come from: files, standard input, TCP sockets."""

from drsn_edge.runtime.sources.base import Chunk, Scale, Source, SourceStats
from drsn_edge.runtime.sources.files import ArraySource, open_file_source
from drsn_edge.runtime.sources.raw import StreamSource, stdin_source, tcp_source

__all__ = ["ArraySource", "Chunk", "Scale", "Source", "SourceStats", "StreamSource", "open_file_source",
           "stdin_source", "tcp_source"]
