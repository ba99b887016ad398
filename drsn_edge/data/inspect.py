"""``data inspect``: what a dataset holds per label and group, and every problem, one line per file, without
holding any file whole in memory."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from drsn_edge.data.checks import Problem, SignalCheck
from drsn_edge.data.sources.base import FileEntry
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers import open_reader


def inspect_entries(entries: list[FileEntry], class_names: list[str], window: int, fs: float | None,
                    progress=None) -> dict[str, Any]:
    """Read every file block by block; count windows of ``window`` samples (half-window hop) at rate ``fs`` (None:
    each file's own rate)."""
    rows, problems = [], []
    known = set(class_names)
    for e in entries:
        row: dict[str, Any] = {"file": e.rid, "label": e.label, "group": e.group}
        rows.append(row)
        if e.label not in known:
            problems.append(Problem(e.rid, "unknown_label", f"label {e.label!r} is not one of the classes "
                                                            f"({', '.join(class_names)})"))
        try:
            with open_reader(e.path, e.read) as r:
                info = r.info
                check = SignalCheck(e.rid, info.channel_names)
                for b in r.blocks():
                    check.update(b.data)
                row.update(fs=info.fs, channels=info.channels, channel_names=info.channel_names, format=info.format)
                problems += [Problem(e.rid, "file", n, error=False) for n in info.notes if "truncated" in n]
        except DrsnEdgeError as exc:
            problems.append(Problem(e.rid, "unreadable", str(exc).removeprefix(f"{e.path}: ")))
            row["unreadable"] = True
            if progress:
                progress()
            continue
        a = int(round((e.start_s or 0) * info.fs))
        b = check.frames if e.stop_s is None else min(check.frames, int(round(e.stop_s * info.fs)))
        frames = max(0, b - a)
        rate = fs or info.fs
        n = int(frames * rate / info.fs)
        row.update(seconds=frames / info.fs, windows=max(0, (n - window) // (window // 2) + 1) if n >= window else 0)
        problems += check.problems(info.fs, int(window * info.fs / rate + 0.5))
        if progress:
            progress()
    table: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(
        lambda: {"files": 0, "seconds": 0.0, "rates": set(), "channels": set(), "windows": 0, "problems": 0})
    bad = {p.file for p in problems}
    for row in rows:
        cell = table[(row["label"], row["group"])]
        cell["files"] += 1
        cell["problems"] += row["file"] in bad
        if not row.get("unreadable"):
            cell["seconds"] += row["seconds"]
            cell["windows"] += row["windows"]
            cell["rates"].add(row["fs"])
            cell["channels"].add(row["channels"])
    order = {n: i for i, n in enumerate(class_names)}
    summary = [{"label": k[0], "group": k[1], **{**v, "rates": sorted(v["rates"]), "channels": sorted(v["channels"])}}
               for k, v in sorted(table.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][0], str(kv[0][1])))]
    return {"classes": class_names, "window": window, "fs": fs, "files": rows, "summary": summary,
            "problems": [p.__dict__ for p in problems]}


def format_inspection(r: dict[str, Any]) -> str:
    head = ["label", "group", "files", "duration s", "rates Hz", "channels", f"windows ({r['window']})", "problems"]
    rows = [[s["label"], s["group"] or "-", str(s["files"]), f"{s['seconds']:.1f}", ",".join(f"{x:g}" for x in s["rates"]),
             ",".join(str(c) for c in s["channels"]), str(s["windows"]), str(s["problems"]) if s["problems"] else ""]
            for s in r["summary"]]
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    line = lambda x: "  ".join(v.ljust(w) for v, w in zip(x, widths)).rstrip()  # noqa: E731
    out = [line(head), line(["-" * w for w in widths]), *map(line, rows)]
    if r["problems"]:
        out.append("")
        out += [f"{'error' if p['error'] else 'warning'}: {p['file']}: {p['message']}" for p in r["problems"]]
    return "\n".join(out)
