"""Accuracy on test windows across noise types and SNRs, with confusion matrices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from drsn_edge.data.noise import add_noise

Predictor = Callable[[np.ndarray], np.ndarray]  # windows (N, C, T) -> logits (N, K)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def evaluate_grid(
    predict: Predictor,
    x: np.ndarray,
    y: np.ndarray,
    class_names: list[str],
    noise_types: tuple[str, ...],
    snrs: list[float | None],
    seed: int = 0,
    repeats: int = 1,
) -> dict[str, Any]:
    """Accuracy for each (noise type, SNR); ``None`` SNR means clean (evaluated once).

    Noise is seeded per cell, so every model and format sees exactly the same noisy windows.
    ``repeats`` draws that many independent noise realizations of the test windows.
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
        cells.append({
            "noise": kind, "snr_db": snr, "windows": int(len(t)),
            "accuracy": float((p == t).mean()),
            "confusion": confusion_matrix(t, p, k).tolist(),
        })
    return {"class_names": class_names, "results": cells}


def format_table(report: dict[str, Any]) -> str:
    """Accuracy (%) as a text table: rows are noise types, columns SNRs."""
    cells = report["results"]
    snrs = sorted({c["snr_db"] for c in cells if c["snr_db"] is not None})
    head = ["noise"] + [f"{s:g} dB" for s in snrs] + ["clean"]
    clean = next((c["accuracy"] for c in cells if c["snr_db"] is None), None)
    rows = []
    for kind in dict.fromkeys(c["noise"] for c in cells if c["snr_db"] is not None):
        acc = {c["snr_db"]: c["accuracy"] for c in cells if c["noise"] == kind}
        rows.append([kind] + [f"{100 * acc[s]:.2f}" if s in acc else "-" for s in snrs]
                    + [f"{100 * clean:.2f}" if clean is not None else "-"])
    if not rows and clean is not None:
        rows.append(["clean", f"{100 * clean:.2f}"])
        head = ["noise", "clean"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "  ".join(v.rjust(w) for v, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def plot_report(report: dict[str, Any], path: str) -> None:
    """Accuracy vs SNR per noise type, and the confusion matrix of the hardest cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = report["results"]
    fig, (ax, axc) = plt.subplots(1, 2, figsize=(12, 4.8))
    for kind in dict.fromkeys(c["noise"] for c in cells if c["snr_db"] is not None):
        pts = sorted((c["snr_db"], 100 * c["accuracy"]) for c in cells if c["noise"] == kind)
        ax.plot(*zip(*pts), marker="o", label=kind)
    clean = next((c for c in cells if c["snr_db"] is None), None)
    if clean:
        ax.axhline(100 * clean["accuracy"], color="gray", ls="--", label="clean")
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy vs noise")
    ax.grid(alpha=0.3)
    ax.legend()
    worst = min(cells, key=lambda c: c["accuracy"])
    cm = np.asarray(worst["confusion"], dtype=float)
    cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    axc.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    names = report["class_names"]
    axc.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    axc.set_yticks(range(len(names)), names, fontsize=7)
    axc.set_xlabel("predicted")
    axc.set_ylabel("true")
    snr = "clean" if worst["snr_db"] is None else f"{worst['snr_db']:g} dB"
    axc.set_title(f"Confusion (row-normalized), {worst['noise']} {snr}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
