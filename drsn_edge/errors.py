"""User-facing errors: the CLI prints these as one line and exits with code 2."""

from __future__ import annotations

import errno


class DrsnEdgeError(Exception):
    """A problem with the user's input (file, option, data), reported without a traceback."""

    exit_code = 2


def readable_os_error(exc: OSError) -> str:
    """An OS error as a sentence ("permission denied"), not "System error." or "[Errno 13] ..."."""
    names = {errno.EACCES: "permission denied", errno.EPERM: "permission denied", errno.ENOENT: "no such file",
             errno.EISDIR: "it is a folder", errno.EIO: "input/output error (damaged disk or network share?)",
             errno.ENOSPC: "no space left on the device"}
    return names.get(exc.errno, (exc.strerror or str(exc)).lower())
