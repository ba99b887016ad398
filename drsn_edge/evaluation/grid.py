"""Accuracy under noise: every (noise type, SNR) cell on the same windows, seeded so that every model and format
sees exactly the same noisy windows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from drsn_edge.data.noise import add_noise
from drsn_edge.evaluation.metrics import confusion_matrix, summary_metrics

Predictor = Callable[[np.ndarray], np.ndarray]  # windows (N, C, T) -> logits (N, K)


def evaluate_grid(
    predict: Predictor,
    x: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    noise_types: tuple[str, ...],
    snrs: list[float | None],
    seed: int = 0,
    repeats: int = 1,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro-F1 and confusion per (noise type, SNR); ``None`` SNR is clean (once).

    ``repeats`` draws that many independent noise realizations of the windows.
    """
    cells = []
    k = len(class_names)
    grid = [("clean", None)] if None in snrs else []
    grid += [(kind, s) for kind in noise_types for s in snrs if s is not None]
    for idx, (kind, snr) in enumerate(grid):
        rng = np.random.default_rng([seed, idx])
        preds, truth = [], []
        for _ in range(1 if snr is None else repeats):
            xin = x if snr is None else add_noise(x, snr, kind, rng)
            preds.append(predict(xin).argmax(1))
            truth.append(y)
        p, t = np.concatenate(preds), np.concatenate(truth)
        cm = confusion_matrix(t, p, k)
        cells.append({"noise": kind, "snr_db": snr, "windows": int(len(t)), **summary_metrics(cm), "confusion": cm.tolist()})
        if progress:
            progress()
    return {"class_names": class_names, "results": cells}


def format_table(report: dict[str, Any], metric: str = "accuracy") -> str:
    """One metric (%) as a text table: rows are noise types, columns SNRs."""
    cells = report["results"]
    snrs = sorted({c["snr_db"] for c in cells if c["snr_db"] is not None})
    head = ["noise"] + [f"{s:g} dB" for s in snrs] + ["clean"]
    clean = next((c[metric] for c in cells if c["snr_db"] is None), None)
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
    rows = []
    for kind in dict.fromkeys(c["noise"] for c in cells if c["snr_db"] is not None):
        acc = {c["snr_db"]: c[metric] for c in cells if c["noise"] == kind}
        rows.append([kind] + [pct(acc[s]) if s in acc else "-" for s in snrs] + [pct(clean)])
    if not rows and clean is not None:
        rows.append(["clean", pct(clean)])
        head = ["noise", "clean"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(v.rjust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])
