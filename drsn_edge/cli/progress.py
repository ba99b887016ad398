"""Progress bars on a terminal, silence in pipes and CI (rich)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


def interactive() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress_bar(total: int, what: str) -> Iterator[Callable[[], None]]:
    """``with progress_bar(n, "reading") as tick: ... tick()``; a bar only where stderr is a terminal."""
    if not interactive():
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=_console()) as p:
        task = p.add_task(what, total=total)
        yield lambda: p.advance(task)


def _console():
    from rich.console import Console

    return Console(stderr=True)
