"""User-facing errors: the CLI prints these as one line and exits with code 2."""

from __future__ import annotations


class DrsnEdgeError(Exception):
    """A problem with the user's input (file, option, data), reported without a traceback."""

    exit_code = 2
