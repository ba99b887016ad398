"""Pictures of an evaluation: accuracy vs SNR per noise type, and confusion matrices."""

from __future__ import annotations

from typing import Any

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_confusion(ax, cm: np.ndarray, names: list[str], title: str) -> None:
    cm = np.asarray(cm, dtype=float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=6,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)


def plot_report(report: dict[str, Any], path: str) -> None:
    """Accuracy and balanced accuracy vs SNR per noise type, and the clean confusion matrix."""
    plt = _plt()
    cells = report["results"]
    fig, (ax, axc) = plt.subplots(1, 2, figsize=(12, 4.8))
    for kind in (dict.fromkeys(c["noise"] for c in cells if c["snr_db"] is not None)):
        pts = sorted((c["snr_db"], 100 * c["accuracy"], 100 * (c["balanced_accuracy"] or 0)) for c in cells
                     if c["noise"] == kind)
        s, a, b = zip(*pts)
        line, = ax.plot(s, a, marker="o", label=f"{kind} accuracy")
        ax.plot(s, b, marker="x", ls="--", color=line.get_color(), label=f"{kind} balanced")
    clean = next((c for c in cells if c["snr_db"] is None), None)
    if clean:
        ax.axhline(100 * clean["accuracy"], color="gray", ls=":", label="clean accuracy")
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("%")
    ax.set_title("Accuracy vs noise")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    shown = clean or min(cells, key=lambda c: c["accuracy"])
    snr = "clean" if shown["snr_db"] is None else f"{shown['noise']} {shown['snr_db']:g} dB"
    draw_confusion(axc, shown["confusion"], report["class_names"], f"Confusion (counts; colour = row share), {snr}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
