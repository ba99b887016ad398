"""What a person at a terminal sees: one readable line per alarm change, a progress bar per file, and at the end a
verdict table per input and channel (rich)."""

from __future__ import annotations

import sys
from typing import Any

from drsn_edge.bearing import diagnosis_words
from drsn_edge.modelfile import ModelMetadata


class ConsoleSink:
    name = "console"
    windows = False

    def __init__(self, md: ModelMetadata, file=None) -> None:
        from rich.console import Console

        self.md = md
        self.console = Console(file=file or sys.stdout, highlight=False)
        self.progress = None
        self.task = None
        self.stream = None

    def start(self, stream: str, duration_s: float | None) -> None:
        """A new input: a progress bar over its duration (files), or a spinner (live input)."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.finish()
        self.stream = stream
        if not self.console.is_terminal:
            return
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[pos]}"),
                                 TimeRemainingColumn(), console=self.console, transient=True)
        self.progress.start()
        self.task = self.progress.add_task(stream, total=duration_s, pos="")

    def on_batch(self, result, md) -> None:
        if self.progress is not None and len(result):
            t = float(result.t[-1])
            self.progress.update(self.task, completed=t, pos=f"{t:.1f} s")

    def emit(self, record: dict[str, Any]) -> None:
        kind = record["type"]
        if kind == "alarm":
            state = record["state"].upper()
            style = "bold red" if state == "ALARM" else "green"
            what, how = record["label"] or "-", f"P(fault) {record['p_fault']:.2f}"
            if record.get("kind") == "novelty" and state == "ALARM":
                what = "unknown condition (novelty)"
            if record.get("kind") == "anomaly":
                how = f"{record['p_fault']:.0%} of windows above {record['threshold']:.3g}"
                if state == "ALARM":
                    what = f"unlike this machine's healthy state (score {record['score']:.3g}); " \
                           f"the classifier's hint: {record.get('hint') or '-'}"
            self.console.print(f"{record['stream_time']:9.2f} s  {record['stream']}/{record['unit']:<3}"
                               f"[{style}]{state:5s}[/]  {what}  ({how})"
                               + (f"; {evidence_words(record)}" if "diagnosis" in record else ""))
        elif kind == "diagnosis":
            self.console.print(f"{record['stream_time']:9.2f} s  {record['stream']}/{record['unit']:<3}"
                               f"[yellow]EVID.[/]  {record['alarm_label']}: {evidence_words(record)}")
        elif kind == "stream_end":
            self.finish()

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def close(self) -> None:
        self.finish()


def evidence_words(record: dict[str, Any]) -> str:
    """What the bearing evidence says of an alarm, in a few words."""
    d, ev = record["diagnosis"], record.get("evidence")
    if ev is None:
        return "bearing evidence not yet (it needs a few seconds)"
    scores = ", ".join(f"{k.upper()} {v['score_db']:.0f} dB" for k, v in ev["defects"].items())
    if d["agrees"] is True:
        return f"bearing evidence agrees ({scores})"
    if d["source"] == "disagreement":
        return f"bearing evidence names {ev['location'].replace('_', ' ')}: fault, location uncertain ({scores})"
    if d["source"] == "evidence":
        return f"bearing evidence names {ev['location'].replace('_', ' ')} ({scores})"
    if d["agrees"] is False:
        return (f"bearing evidence leans to {ev['location'].replace('_', ' ')}, not firmly enough to dispute the model "
                f"on its own machine ({scores})")
    return f"bearing evidence silent ({scores})"


def verdict_table(summary: dict[str, Any], file=None, width: int | None = None) -> None:
    """Per input and channel: dominant class and its share, alarms, rejected / unknown windows, duration, and with
    bearing evidence the diagnosis at the end. Class names
    are never cut: at 80 columns the input's name wraps and the numbers keep short headers."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    t = Table(title="verdicts", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    names = [v["dominant"] or "-" for s in summary["streams"] for v in s["verdicts"]]
    t.add_column("input", justify="left", overflow="fold", ratio=1)
    t.add_column("ch", justify="right", no_wrap=True)
    t.add_column("dominant class", justify="left", no_wrap=True, min_width=max([len(n) for n in names] + [8]))
    for col in ("share", "alarms", "rejected", "unknown", "seconds"):
        t.add_column(col, justify="right", no_wrap=True)
    for s in summary["streams"]:
        for v, name in zip(s["verdicts"], names[: len(s["verdicts"])]):
            t.add_row(s["stream"], str(v["unit"]), name, f"{100 * v['share']:.0f} %",
                      str(v["alarms_raised"]) + (" on" if v["alarm_active"] else ""), str(v["rejected"]),
                      str(v["unknown"]), f"{v['duration_s']:.1f}")
        names = names[len(s["verdicts"]):]
    console = Console(file=file or sys.stdout, highlight=False, width=width)
    console.print(t)
    if any(v["alarm_active"] for s in summary["streams"] for v in s["verdicts"]):
        console.print("alarms: 'on' = still active at the end")
    said = [f"  {s['stream']}/{v['unit']}: {diagnosis_words(v['diagnosis']) if v['diagnosis'] else '-'}"
            for s in summary["streams"] for v in s["verdicts"] if "diagnosis" in v]
    if said:  # the model's class alone is wrong on a machine it does not know, where the evidence is right
        console.print("diagnosis at the end (the model's class weighed against the bearing evidence):", *said,
                      sep="\n", markup=False)
