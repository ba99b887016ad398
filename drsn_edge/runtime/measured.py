"""What ``drsn-edge bench`` measured on this machine, kept for ``stream``: a stream on ONNX Runtime whose model bench
timed slower than OpenVINO on this CPU says so once at start (it never switches by itself: the user chooses).

Kept in the cache folder (``bench/<SHA-256 of a model file>.json``, one per file bench ran), with the CPU it was
measured on: a record from another CPU says nothing here.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from drsn_edge.modelfile.hashing import sha256_file
from drsn_edge.runtime.backends.openvino_backend import openvino_available
from drsn_edge.runtime.cpu_features import cpu_description
from drsn_edge.runtime.providers import ProviderSettings, cache_root

#: faster by less than this is within the timing's spread: nothing is said
WORTH_SAYING = 1.10
#: an OpenVINO row that loses more balanced accuracy than this (the INT8 budget) is never recommended
ACCURACY_BUDGET = 0.005


def _folder(settings: ProviderSettings | None = None) -> Path:
    return cache_root(settings or ProviderSettings()) / "bench"


def _cpu() -> str:
    d = cpu_description()
    return f"{d['model']} ({d['machine']}; {', '.join(d['isa'])})"


def record_bench(report: dict[str, Any], settings: ProviderSettings | None = None) -> list[Path]:
    """Keep a bench report's rows (time at its batch, clean balanced accuracy) under every model file it ran; the
    paths written (none where the cache cannot be written)."""
    rows = [{"format": r["format"], "provider": r["provider"], "precision": r.get("precision", "f32"),
             "file": sha256_file(r["path"]), "path": r["path"], "ms": r["latency_bN"]["median_ms"],
             "balanced_accuracy": r.get("balanced_accuracy_clean")}
            for r in report["formats"] if r.get("status") == "ok" and r.get("latency_bN") and r.get("path")
            and Path(r["path"]).is_file() and str(r["path"]).endswith(".onnx")]
    entry = {"cpu": _cpu(), "when": datetime.date.today().isoformat(), "batch": report["batch"],
             "threads": report["threads"], "rows": rows}
    written = []
    try:
        _folder(settings).mkdir(parents=True, exist_ok=True)
        for sha in sorted({r["file"] for r in rows}):
            path = _folder(settings) / f"{sha}.json"
            path.write_text(json.dumps(entry, indent=1))
            written.append(path)
    except OSError:
        return []
    return written


def openvino_advice(model: str, provider: str, settings: ProviderSettings | None = None) -> str | None:
    """One line when bench measured OpenVINO faster than ONNX Runtime for this model file on this CPU, within the
    accuracy budget, and OpenVINO is installed; else None."""
    if provider != "cpu" or openvino_available() is not None or not Path(model).is_file():
        return None
    sha = sha256_file(model)
    try:
        entry = json.loads((_folder(settings) / f"{sha}.json").read_text())
    except (OSError, ValueError):
        return None
    if entry.get("cpu") != _cpu():
        return None
    rows = entry.get("rows", [])
    mine = next((r for r in rows if r["file"] == sha and r["provider"] == "cpu"), None)
    if mine is None:
        return None
    floor = (mine["balanced_accuracy"] or 0) - ACCURACY_BUDGET
    better = [r for r in rows if r["provider"] == "openvino" and r["ms"] * WORTH_SAYING <= mine["ms"]
              and (r["balanced_accuracy"] is None or mine["balanced_accuracy"] is None or r["balanced_accuracy"] >= floor)]
    if not better:
        return None
    best = min(better, key=lambda r: r["ms"])
    how = "--provider openvino" + (f" --precision {best['precision']}" if best["precision"] != "f32" else "")
    on = "" if best["file"] == sha else f" on {best['path']}"
    return (f"drsn-edge bench measured {best['format']} {mine['ms'] / best['ms']:.2f}x faster than this model on ONNX "
            f"Runtime on this CPU ({entry['when']}, batch {entry['batch']}, {entry['threads']} thread(s), accuracy "
            f"within {100 * ACCURACY_BUDGET:g} points): {how}{on} to use it")


__all__ = ["openvino_advice", "record_bench"]
