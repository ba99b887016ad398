"""Where samples come from: files (through the readers), standard input, TCP sockets."""

from drsn_edge.runtime.sources.base import Chunk, Scale, Source, SourceStats
from drsn_edge.runtime.sources.files import ArraySource, ReaderSource, open_file_source
from drsn_edge.runtime.sources.raw import StdinSource, TcpSource, stdin_source, tcp_source

__all__ = ["ArraySource", "Chunk", "ReaderSource", "Scale", "Source", "SourceStats", "StdinSource", "TcpSource",
           "open_file_source", "stdin_source", "tcp_source"]
