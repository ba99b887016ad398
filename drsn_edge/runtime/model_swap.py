"""A model replaced while its streams run: the new file is opened beside the running one, checked against it (rate,
window and channels must match; every stream's settings must hold for it, such as a named healthy class), warmed,
and handed to every stream between two batches. No window is lost or decided twice (the queues are untouched; each
batch goes wholly to one model) and the alarm states carry over where the classes match. A model with other classes
is taken and said (``model_changed`` lists the classes added and removed; an alarm on a class it lacks is cleared). A
file that fails its check is refused in one line, and the old model keeps running.

Files are watched by polling their identity (inode, size, modification time): an atomic rename (write elsewhere,
then ``mv``) is seen at the next poll; a file copied in place is taken only once its identity held still for one poll.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata
from drsn_edge.modelfile.hashing import sha256_file
from drsn_edge.runtime.config import check_config
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.providers import ProviderSettings
from drsn_edge.runtime.sinks.records import event_record


def incompatibility(old: ModelMetadata, new: ModelMetadata, configs: list = ()) -> str | None:
    """Why ``new`` cannot take over ``old``'s streams (run with the :class:`StreamConfig` ``configs``), in one line;
    None when it can. Other classes are no reason: the streams carry over what matches."""
    for what, a, b in (("sample rate (Hz)", old.sample_rate, new.sample_rate), ("window", old.window, new.window),
                       ("input channels", old.in_channels, new.in_channels)):
        if a != b:
            return f"its {what} is {b:g}, the running model's {a:g}"
    for cfg in configs:
        try:
            check_config(cfg, new)
        except DrsnEdgeError as exc:
            return str(exc)
    return None


class FileWatch:
    """Polls a file's identity on a thread; calls ``changed()`` once a new identity held still for one poll."""

    def __init__(self, path: str | Path, changed: Callable[[], None], interval_s: float, name: str) -> None:
        self.path, self.changed, self.interval_s = Path(path), changed, interval_s
        self.seen = _identity(self.path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        pending = None
        while not self._stop.wait(self.interval_s):
            now = _identity(self.path)
            if now is None or now == self.seen:
                pending = None
                continue
            if now != pending:  # changed since the last poll: wait until it holds still
                pending = now
                continue
            self.seen, pending = now, None
            self.changed()


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class ModelWatcher:
    """Watches ``path``; on a change, swaps the new model into every runner of ``runners()``. :meth:`follow` points it
    at another file (the deployment file now names another model)."""

    def __init__(self, path: str, settings: ProviderSettings, backend, md: ModelMetadata, runners: Callable[[], list],
                 emit: Callable[[dict], None], warn: Callable[[str], None], batch_size: int,
                 interval_s: float = 1.0) -> None:
        self.path, self.settings, self.backend, self.md = Path(path), settings, backend, md
        self.runners, self.emit, self.warn = runners, emit, warn
        self.batch_size, self.interval_s = batch_size, interval_s
        self.hash = sha256_file(self.path)
        self.swaps = self.refused = 0
        self._lock = threading.RLock()  # one swap at a time (the file's watch and a deployment file's)
        self._watch = FileWatch(self.path, self.swap, interval_s, "drsn-model-watch")

    def start(self) -> None:
        self._watch.start()

    def stop(self) -> None:
        self._watch.stop()

    def follow(self, path: str) -> bool:
        """Watch ``path`` from now on, and swap its model in at once (refused: the old file stays watched)."""
        with self._lock:
            if Path(path) == self.path:
                return False
            before = self.path
            self.path = Path(path)
            if self.swap():
                self._watch.path, self._watch.seen = self.path, _identity(self.path)
                return True
            self.path = before
            return False

    def swap(self) -> bool:
        """Open, check, warm and hand over the file now at ``path``; False (said in one line) when refused."""
        with self._lock:
            return self._swap()

    def _swap(self) -> bool:
        new_hash = None
        try:
            new_hash = sha256_file(self.path)
            if new_hash == self.hash:
                return False
            backend, md = open_model(self.path, self.settings)
            why = incompatibility(self.md, md, [r.cfg for r in self.runners()])
            if why:
                backend.close()
                raise DrsnEdgeError(why)
            backend.activate()
            backend.warm(self.batch_size, md.in_channels, md.window)
        except Exception as exc:  # noqa: BLE001 - any failure of a new file leaves the running model in place
            self.refused += 1
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.warn(f"model {self.path} refused ({reason}); the running model goes on")
            self.emit(event_record("model_refused", path=str(self.path), running=self.hash, refused=new_hash,
                                   reason=reason))
            return False
        old, old_hash = self.backend, self.hash
        taken = [r.swap_model(backend, md, {"old": old_hash, "new": new_hash, "path": str(self.path)})
                 for r in self.runners()]
        for done in taken:
            done.wait(timeout=30)
        self.backend, self.hash, self.md = backend, new_hash, md
        self.swaps += 1
        if all(d.is_set() for d in taken):  # a stream still on the old model keeps it open
            old.close()
        return True


__all__ = ["FileWatch", "ModelWatcher", "incompatibility"]
