"""Numbers a reliability engineer can trust: per-class recall and precision, balanced accuracy, macro-F1, the
confusion matrix, per-recording verdicts, and fault-vs-normal detection and false-alarm rates."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def _safe(num: float, den: float) -> float | None:
    return float(num / den) if den else None


def summary_metrics(cm: np.ndarray) -> dict[str, float | None]:
    """Accuracy, balanced accuracy (mean recall over the classes present) and macro-F1 (same classes)."""
    support = cm.sum(1)
    present = support > 0
    tp = np.diag(cm).astype(float)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    predicted = cm.sum(0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    total = cm.sum()
    return {"accuracy": _safe(tp.sum(), total),
            "balanced_accuracy": float(recall[present].mean()) if present.any() else None,
            "macro_f1": float(f1[present].mean()) if present.any() else None}


def detection_rates(y_true: np.ndarray, y_pred: np.ndarray, normal: int) -> dict[str, Any]:
    """Fault-vs-normal: share of fault windows called a fault (any fault class), share of normal windows called one."""
    fault_true, fault_pred = y_true != normal, y_pred != normal
    return {"detection_rate": _safe(np.sum(fault_true & fault_pred), np.sum(fault_true)),
            "false_alarm_rate": _safe(np.sum(~fault_true & fault_pred), np.sum(~fault_true)),
            "fault_windows": int(fault_true.sum()), "normal_windows": int((~fault_true).sum())}


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str],
                          rec: np.ndarray | None = None, rec_names: list[str] | None = None,
                          normal_label: str | None = None) -> dict[str, Any]:
    """Every figure of one evaluation; ``rec`` (recording index per window) adds per-recording verdicts."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    k = len(class_names)
    cm = confusion_matrix(y_true, y_pred, k)
    support, predicted, tp = cm.sum(1), cm.sum(0), np.diag(cm)
    per_class = {}
    for i, name in enumerate(class_names):
        r, p = _safe(tp[i], support[i]), _safe(tp[i], predicted[i])
        per_class[name] = {"support": int(support[i]), "recall": r, "precision": p,
                           "f1": (2 * r * p / (r + p)) if r is not None and p is not None and r + p > 0 else
                           (0.0 if r is not None else None)}
    out: dict[str, Any] = {"windows": int(len(y_true)), **summary_metrics(cm), "per_class": per_class,
                           "confusion": cm.tolist(), "class_names": list(class_names)}
    normal = class_names.index(normal_label) if normal_label in class_names else None
    if normal is not None:
        out["detection"] = {"per_window": detection_rates(y_true, y_pred, normal)}
    if rec is not None:
        rows = []
        for r in np.unique(rec):
            m = rec == r
            truth = int(y_true[m][0])
            votes = np.bincount(y_pred[m], minlength=k)
            verdict = int(np.argmax(votes))
            row = {"recording": rec_names[r] if rec_names else int(r), "label": class_names[truth],
                   "windows": int(m.sum()), "accuracy": float(np.mean(y_pred[m] == truth)),
                   "verdict": class_names[verdict], "verdict_share": float(votes[verdict] / m.sum()),
                   "correct": verdict == truth}
            if normal is not None:
                row["fault_share"] = float(np.mean(y_pred[m] != normal))
            rows.append(row)
        out["per_recording"] = rows
        out["recording_verdict_accuracy"] = float(np.mean([r["correct"] for r in rows]))
        if normal is not None:
            fault = np.array([r["label"] != normal_label for r in rows])
            flagged = np.array([r["fault_share"] > 0.5 for r in rows])
            out["detection"]["per_recording"] = {
                "detection_rate": _safe(np.sum(fault & flagged), np.sum(fault)),
                "false_alarm_rate": _safe(np.sum(~fault & flagged), np.sum(~fault)),
                "fault_recordings": int(fault.sum()), "normal_recordings": int((~fault).sum())}
    return out


def format_report(r: dict[str, Any]) -> str:
    """The figures of a classification report as readable text."""
    pct = lambda v: "-" if v is None else f"{100 * v:.2f}"  # noqa: E731
    lines = [f"windows {r['windows']}: accuracy {pct(r['accuracy'])} %, balanced accuracy {pct(r['balanced_accuracy'])} %, "
             f"macro-F1 {pct(r['macro_f1'])} %"]
    if "recording_verdict_accuracy" in r:
        lines.append(f"recordings {len(r['per_recording'])}: majority verdict right for "
                     f"{pct(r['recording_verdict_accuracy'])} %")
    det = r.get("detection")
    if det:
        w = det["per_window"]
        lines.append(f"fault vs normal, per window: detection {pct(w['detection_rate'])} %, false alarms "
                     f"{pct(w['false_alarm_rate'])} %" + (
                         f"; per recording: detection {pct(det['per_recording']['detection_rate'])} %, false alarms "
                         f"{pct(det['per_recording']['false_alarm_rate'])} %" if "per_recording" in det else ""))
    width = max(len(n) for n in r["per_class"])
    lines.append(f"{'class'.ljust(width)}  support  recall %  precision %")
    for name, c in r["per_class"].items():
        lines.append(f"{name.ljust(width)}  {c['support']:7d}  {pct(c['recall']):>8}  {pct(c['precision']):>11}")
    return "\n".join(lines)


def short_names(names: list[str]) -> list[str]:
    """Short codes for class names (``inner_race_0.007`` -> ``IR.007``), unique."""
    out: list[str] = []
    for n in names:
        parts = [p for p in re.split(r"[_\s-]+", n) if p]
        letters = "".join(p[0].upper() for p in parts if not _is_number(p))
        digits = "".join(p.removeprefix("0") for p in parts if _is_number(p))
        code = (letters or n[:3]) + digits
        while code in out:
            code += "'"
        out.append(code)
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def format_confusion(r: dict[str, Any], width: int = 80) -> str:
    """The confusion matrix (rows true, columns predicted, window counts); short class codes and a key when the
    names would not fit in ``width`` columns."""
    names, cm = r["class_names"], np.asarray(r["confusion"])
    present = [i for i in range(len(names)) if cm[i].sum() or cm[:, i].sum()]
    labels = [names[i] for i in present]
    cell = max(len(str(int(cm.max()))), 3)
    full = max(len(n) for n in labels)
    use_codes = full + (max(cell, full) + 1) * len(labels) + 2 > width
    shown = short_names(labels) if use_codes else labels
    col = max(cell, max(len(s) for s in shown))
    head = max(len(s) for s in shown)
    lines = ["confusion (rows: true class, columns: predicted; windows)",
             " " * (head + 2) + " ".join(s.rjust(col) for s in shown)]
    for k, i in enumerate(present):
        row = " ".join(str(int(cm[i, j])).rjust(col) for j in present)
        lines.append(f"{shown[k].ljust(head)}  {row}")
    if use_codes:
        lines += textwrap.wrap("key: " + ", ".join(f"{c} = {n}" for c, n in zip(shown, labels)), width)
    return "\n".join(lines)


def format_recordings(r: dict[str, Any], width: int = 80) -> str:
    """Per recording: its label, windows, share of windows right, and the majority verdict; within ``width`` columns
    (long recording names lose their start, never the file name; class names become the confusion's codes)."""
    rows = r.get("per_recording") or []
    if not rows:
        return ""
    code = dict(zip(r["class_names"], short_names(r["class_names"])))

    def table(names: bool, rec_width: int | None) -> list[list[str]]:
        name = (lambda n: n) if names else (lambda n: code.get(n, n))
        body = [[str(x["recording"]), name(x["label"]), str(x["windows"]), f"{100 * x['accuracy']:.1f}",
                 f"{name(x['verdict'])} {100 * x['verdict_share']:.0f} %" + ("" if x["correct"] else " WRONG")]
                for x in rows]
        if rec_width:
            for row in body:
                row[0] = row[0] if len(row[0]) <= rec_width else "..." + row[0][-(rec_width - 3):]
        return [["recording", "label", "windows", "right %", "verdict"], *body]

    def fits(t: list[list[str]]) -> bool:
        return sum(max(len(row[i]) for row in t) for i in range(5)) + 8 <= width

    t = table(True, None)
    for names, rec in ((True, None), (True, 24), (False, 24), (False, 12)):
        t = table(names, rec)
        if fits(t):
            break
    widths = [max(len(row[i]) for row in t) for i in range(5)]
    fmt = lambda row: "  ".join(v.ljust(w) if i in (0, 1, 4) else v.rjust(w)  # noqa: E731
                                for i, (v, w) in enumerate(zip(row, widths))).rstrip()
    return "\n".join(["per recording (majority verdict of its windows)", *map(fmt, t)])
