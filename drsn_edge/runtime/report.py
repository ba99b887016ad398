"""The stream report: one self-contained HTML page (inline SVG, no script, no network) with, per input and channel,
a timeline of class probabilities, the smoothed decision, alarm spans, rejected windows, the noise level where the
model reports it, and the verdict table; and the same timeline as a PNG for people who want files."""

from __future__ import annotations

import datetime
import html
from typing import Any

import numpy as np

from drsn_edge.bearing import diagnosis_words
from drsn_edge.errors import DrsnEdgeError

PALETTE = ["#1f77b4", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]
NORMAL_COLOR = "#2ca02c"
#: alarm spans by kind: a fault, a window unlike any known class (novelty), a machine unlike its enrolled healthy state
KIND_COLOURS = {"fault": "#d62728", "novelty": "#7f3fbf", "anomaly": "#e6550d"}
W, PLOT_H, STRIP_H, NOISE_H, LEFT, RIGHT = 960, 170, 14, 80, 56, 16


#: tick steps a time axis may take, seconds (1-2-5 and minutes)
TICK_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600,
              43200, 86400)
#: what the noise-level output means, for axis titles
NOISE_MEANING = "noise level, dB (noise power relative to the vibration, about -SNR; from the model's own thresholds)"


def nice_ticks(t_max: float, most: int = 8) -> list[float]:
    """Tick positions at a clean step (0.5 s, 1 s, 2 s, 5 s, 10 s, 30 s, 1 min...) from 0 to ``t_max``."""
    step = next((s for s in TICK_STEPS if t_max / s <= most), TICK_STEPS[-1])
    return [round(k * step, 6) for k in range(int(t_max / step + 1e-9) + 1)]


def tick_label(v: float) -> str:
    """``0.5 s``, ``2 s``, ``1.5 min``, ``2 h``: what the tick is placed at, never rounded to a neighbour."""
    if v >= 7200 and v % 3600 == 0:
        return f"{v / 3600:g} h"
    if v >= 120 and v % 60 == 0:
        return f"{v / 60:g} min"
    return f"{v:g} s"


def noise_axis(lo: float, hi: float) -> tuple[float, float, list[float]]:
    """Bounds at 5-dB steps around ``lo..hi`` (at least 10 dB apart) and their ticks."""
    lo5, hi5 = 5 * np.floor(lo / 5), 5 * np.ceil(hi / 5)
    if hi5 - lo5 < 10:
        mid = (lo5 + hi5) / 2
        lo5, hi5 = 5 * np.floor((mid - 5) / 5), 5 * np.ceil((mid + 5) / 5)
    step = next(s for s in (5, 10, 20, 50) if (hi5 - lo5) / s <= 4)
    return float(lo5), float(hi5), [float(v) for v in np.arange(lo5, hi5 + 1e-9, step)]


def class_colors(names: list[str], normal: str | None) -> dict[str, str]:
    out, k = {}, 0
    for n in names:
        if n == normal:
            out[n] = NORMAL_COLOR
        else:
            out[n] = PALETTE[k % len(PALETTE)]
            k += 1
    return out


def _e(x: Any) -> str:
    return html.escape(str(x))


def _svg_unit(tl, spans: list, gaps: list, md, colors: dict[str, str], t_max: float) -> str:
    a = tl.arrays()
    t, prob = a["t"], a["prob"]
    has_noise = bool(np.isfinite(a["noise"]).any())
    top = 8
    strip_y = top + PLOT_H + 6
    rej_y = strip_y + STRIP_H + 4
    noise_y = rej_y + 26
    height = noise_y + (NOISE_H + 18 if has_noise else 4) + 14
    span_w = W - LEFT - RIGHT

    def x(v: float) -> float:
        return LEFT + (v / t_max if t_max > 0 else 0) * span_w

    def y(p: float) -> float:
        return top + (1 - p) * PLOT_H

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {W} {height}" '
             f'role="img" aria-label="timeline">',
             f'<rect x="{LEFT}" y="{top}" width="{span_w}" height="{PLOT_H}" fill="#fafafa" stroke="#ccc"/>']
    for s in spans:  # alarm spans behind the lines
        x0, x1 = x(s["start"]), x(s["end"] if s["end"] is not None else t_max)
        fill = KIND_COLOURS.get(s.get("kind"), "#d62728")
        parts.append(f'<rect class="alarm" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1.5):.1f}" height="{PLOT_H}" '
                     f'fill="{fill}" fill-opacity="0.13"><title>alarm: {_e(s["label"])} '
                     f'{s["start"]:.1f}-{(s["end"] or t_max):.1f} s</title></rect>')
        parts.append(f'<text x="{x0 + 3:.1f}" y="{top + 12}" font-size="10" fill="{fill}">ALARM {_e(s["label"])}</text>')
    for g in gaps:
        parts.append(f'<line x1="{x(g):.1f}" x2="{x(g):.1f}" y1="{top}" y2="{top + PLOT_H}" stroke="#555" '
                     f'stroke-dasharray="3,3"><title>gap in the input at {g:.2f} s</title></line>')
    for p in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{LEFT - 6}" y="{y(p) + 4:.1f}" font-size="10" text-anchor="end">{p:g}</text>')
    parts.append(f'<text x="12" y="{top + PLOT_H / 2}" font-size="10" transform="rotate(-90 12 {top + PLOT_H / 2})" '
                 'text-anchor="middle">P(class), smoothed</text>')
    for k, name in enumerate(md.class_names):
        for seg in _segments(t, prob[:, k]):
            pts = " ".join(f"{x(tt):.1f},{y(pp):.1f}" for tt, pp in seg)
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colors[name]}" stroke-width="1.4">'
                         f'<title>{_e(name)}</title></polyline>')
    # the smoothed decision, a colour per class
    edges = np.concatenate([[0.0], (t[1:] + t[:-1]) / 2, [t_max]]) if len(t) else np.array([])
    for i in range(len(t)):
        if not np.isfinite(prob[i]).all():
            continue
        name = md.class_names[int(np.argmax(prob[i]))]
        parts.append(f'<rect x="{x(edges[i]):.1f}" y="{strip_y}" width="{max(x(edges[i + 1]) - x(edges[i]), 0.6):.1f}" '
                     f'height="{STRIP_H}" fill="{colors[name]}"><title>{_e(name)} at {t[i]:.1f} s</title></rect>')
    parts.append(f'<text x="{LEFT - 6}" y="{strip_y + 11}" font-size="10" text-anchor="end">decision</text>')
    for i in np.nonzero(a["rejected"])[0]:
        parts.append(f'<rect x="{x(t[i]) - 1:.1f}" y="{rej_y}" width="2.5" height="8" fill="#000">'
                     f'<title>{int(a["rejected"][i])} rejected window(s) near {t[i]:.1f} s</title></rect>')
    parts.append(f'<text x="{LEFT - 6}" y="{rej_y + 8}" font-size="10" text-anchor="end">rejected</text>')
    if has_noise:
        nz = a["noise"]
        ok = np.isfinite(nz)
        lo, hi, ticks = noise_axis(float(np.nanmin(nz)), float(np.nanmax(nz)))
        yn = lambda v: noise_y + (1 - (v - lo) / (hi - lo)) * NOISE_H  # noqa: E731
        pts = " ".join(f"{x(tt):.1f},{yn(v):.1f}" for tt, v in zip(t[ok], nz[ok]))
        parts += [f'<rect x="{LEFT}" y="{noise_y}" width="{span_w}" height="{NOISE_H}" fill="#fafafa" stroke="#ccc"/>',
                  f'<polyline class="noise" points="{pts}" fill="none" stroke="#444" stroke-width="1.2"><title>'
                  f'{_e(NOISE_MEANING)}</title></polyline>',
                  f'<text x="{LEFT}" y="{noise_y - 4}" font-size="10">{_e(NOISE_MEANING)}</text>']
        for v in ticks:
            parts.append(f'<text class="noise-tick" x="{LEFT - 6}" y="{yn(v) + 4:.1f}" font-size="10" '
                         f'text-anchor="end">{v:g} dB</text>')
    for v in nice_ticks(t_max):
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{top + PLOT_H}" y2="{top + PLOT_H + 4}" stroke="#888"/>'
                     f'<text class="time-tick" x="{x(v):.1f}" y="{height - 2}" font-size="10" text-anchor="middle" '
                     f'data-t="{v:g}">{tick_label(v)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


LINE_COLORS = {"bpfo": "#d62728", "bpfi": "#1f77b4", "bsf": "#ff7f0e"}


def _svg_spectrum(spec: dict[str, Any]) -> str:
    """An envelope spectrum (dB over its median) with each defect's harmonics 1x-3x marked."""
    db = np.asarray(spec["db"], np.float64)
    if not db.size:
        return ""
    h, top = 150, 10
    df = spec["df_hz"]
    f_max = df * (len(db) - 1)
    db[0] = np.median(db)  # the DC bin of a mean-removed envelope says nothing
    lo, hi = max(-20.0, min(-5.0, float(np.percentile(db, 1)))), max(10.0, float(db.max()) + 3)
    db = np.clip(db, lo, hi)
    span_w = W - LEFT - RIGHT
    x = lambda f: LEFT + f / f_max * span_w if f_max > 0 else LEFT  # noqa: E731
    y = lambda v: top + (1 - (v - lo) / (hi - lo)) * (h - 30)  # noqa: E731
    pts = " ".join(f"{x(i * df):.1f},{y(v):.1f}" for i, v in enumerate(db))
    parts = [f'<svg class="spectrum" xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {W} {h}" role="img" '
             'aria-label="envelope spectrum">',
             f'<rect x="{LEFT}" y="{top}" width="{span_w}" height="{h - 30}" fill="#fafafa" stroke="#ccc"/>']
    for name, f0 in spec.get("lines_hz", {}).items():
        for k in (1, 2, 3):
            if k * f0 <= f_max:
                parts.append(f'<line class="defect-line" x1="{x(k * f0):.1f}" x2="{x(k * f0):.1f}" y1="{top}" '
                             f'y2="{top + h - 30}" stroke="{LINE_COLORS.get(name, "#888")}" stroke-dasharray="4,3">'
                             f'<title>{k}x {name.upper()} = {k * f0:.1f} Hz</title></line>')
        parts.append(f'<text x="{x(f0) + 3:.1f}" y="{top + 11}" font-size="10" fill="{LINE_COLORS.get(name, "#888")}">'
                      f'{name.upper()}</text>')
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#333" stroke-width="1"/>')
    for v in nice_ticks(f_max):
        parts.append(f'<text x="{x(v):.1f}" y="{h - 6}" font-size="10" text-anchor="middle">{v:g} Hz</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{y(hi) + 10:.1f}" font-size="10" text-anchor="end">{hi:.0f} dB</text>'
                 f'<text x="{LEFT - 6}" y="{y(lo):.1f}" font-size="10" text-anchor="end">{lo:.0f} dB</text></svg>')
    return "\n".join(parts)


def _evidence_html(spans: list[dict[str, Any]]) -> str:
    """Per alarm with bearing evidence: the model's class, what the evidence says, the diagnosis, the spectrum."""
    out = []
    for s in spans:
        d = s.get("diagnosis")
        if d is None:
            continue
        ev = s.get("evidence")
        said = ("not yet (the alarm ended before an analysis)" if ev is None else
                f"names {ev['location'].replace('_', ' ')}{'' if ev.get('firm', True) else ' (not firmly)'}"
                if ev.get("location") else "silent")
        scores = "" if ev is None else ", ".join(f"{k.upper()} {v['score_db']:.0f} dB" for k, v in ev["defects"].items())
        out.append(f'<div class="evidence"><p><b>channel {s["unit"]}, alarm at {s["start"]:.2f} s</b>: model '
                   f'<b>{_e(s["label"])}</b>; bearing evidence {_e(said)}{f" ({_e(scores)})" if scores else ""}; '
                   f'diagnosis <b class="diagnosis">{_e(d["label"])}</b>.</p>'
                   + (_svg_spectrum(s["spectrum"]) if s.get("spectrum") else "") + "</div>")
    return ("<h3>Alarms and the bearing evidence</h3><p>The envelope spectrum in the band of highest spectral kurtosis, "
            "with each defect's harmonics marked (dashed): a fault's lines stand out of the floor.</p>" + "".join(out)) \
        if out else ""


def _segments(t: np.ndarray, v: np.ndarray) -> list[list[tuple[float, float]]]:
    """Runs of finite points (a line is broken where there is no decision)."""
    segs, cur = [], []
    for tt, vv in zip(t, v):
        if np.isfinite(vv):
            cur.append((float(tt), float(vv)))
        elif cur:
            segs.append(cur)
            cur = []
    return segs + ([cur] if cur else [])


def render_report(histories: list, md, run: dict[str, Any] | None) -> str:
    colors = class_colors(md.class_names, md.normal_label)
    legend = " ".join(f'<span class="key"><i style="background:{c}"></i>{_e(n)}</span>' for n, c in colors.items())
    rows = []
    evidence = any("diagnosis" in v for h in histories for v in (h.summary or {}).get("verdicts", []))
    for h in histories:
        for v in (h.summary or {}).get("verdicts", []):
            active = " (active at the end)" if v["alarm_active"] else ""
            cls = ' class="bad"' if v["alarms_raised"] else ""
            d = v.get("diagnosis")
            said = f'<td class="diagnosis">{_e(diagnosis_words(d) if d else "-")}</td>' if evidence else ""
            rows.append(f'<tr{cls}><td><a href="#s-{_e(h.stream)}">{_e(h.stream)}</a></td><td>{v["unit"]}</td>'
                        f'<td>{_e(v["dominant"] or "-")}</td><td>{100 * v["share"]:.0f} %</td>'
                        f'<td>{v["alarms_raised"]}{active}</td><td>{v["rejected"]}</td><td>{v["unknown"]}</td>'
                        f'<td>{v["duration_s"]:.1f} s</td>{said}</tr>')
    sections = []
    for h in histories:
        t_max = max([float(tl.t1[: tl.n].max()) for tl in h.units.values() if tl.n] + [h.duration_s or 0.0, 1e-6])
        s = h.summary or {}
        head = (f'<p>{_e(s.get("input", ""))}: {s.get("stream_seconds", 0):.1f} s, {s.get("processed", 0)} windows, '
                f'{s.get("alarms", 0)} alarm changes, {s.get("rejected", 0)} rejected, {s.get("dropped", 0)} dropped.</p>')
        units = []
        for u, tl in sorted(h.units.items()):
            spans = [sp for sp in h.spans if sp["unit"] == u]
            units.append(f'<h3>channel {u}</h3>\n' + _svg_unit(tl, spans, h.gaps, md, colors, t_max))
        if h.events_dropped:
            head += f"<p>{h.events_dropped} older alarm spans / gaps are not drawn (memory bound).</p>"
        sections.append(f'<section class="stream" id="s-{_e(h.stream)}" data-stream="{_e(h.stream)}">'
                        f'<h2>{_e(h.stream)}</h2>{head}{"".join(units)}{_evidence_html(h.spans)}</section>')
    r = run or {}
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    model = md.model or {}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>drsn-edge stream report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
svg {{ display: block; max-width: 1800px; }}
table {{ border-collapse: collapse; margin: 8px 0 20px; }}
td, th {{ border: 1px solid #ddd; padding: 3px 8px; text-align: right; }}
td:first-child, th:first-child, td:nth-child(3), td.diagnosis {{ text-align: left; }}
tr.bad td {{ background: #fdecea; }}
.key {{ margin-right: 14px; font-size: 13px; white-space: nowrap; }}
.key i {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }}
section.stream {{ border-top: 1px solid #ccc; margin-top: 18px; }}
</style></head><body>
<h1>drsn-edge stream report</h1>
<p>Model {_e(model.get("arch"))}/{_e(model.get("preset"))} ({_e(md.precision)}), {md.sample_rate:g} Hz, window {md.window},
classes: {_e(", ".join(md.class_names))}; healthy class: {_e(md.normal_label or "none")}. Generated {when}.
Run: {r.get("processed", 0)} windows from {len(histories)} input(s), {r.get("alarms", 0)} alarm changes,
{r.get("rejected", 0)} rejected, {r.get("dropped", 0)} dropped, {r.get("real_time_factor") or 0:.0f}x real time.</p>
<h2>Verdicts</h2>
<table><tr><th>input</th><th>channel</th><th>dominant class</th><th>share</th><th>alarms</th><th>rejected</th>
<th>unknown</th><th>duration</th>{"<th>diagnosis (with bearing evidence)</th>" if evidence else ""}</tr>
{"".join(rows)}
</table>
<p>{legend}</p>
<p>Each timeline: the smoothed probability of every class (lines), the smoothed decision (colour strip), alarm spans
(shaded), rejected windows (black ticks), gaps in the input (dashed lines) and, where the model reports it, the noise
level it estimates.</p>
{"".join(sections)}
</body></html>
"""


def plot_stream(h, md, path) -> None:
    """The timeline of one input as a PNG (matplotlib), with what the report draws: per channel the smoothed class
    probabilities, alarm spans, gaps, rejected windows, the decision strip and the noise level in dB; the verdicts
    under the title."""
    try:
        import matplotlib
    except ImportError:
        raise DrsnEdgeError("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    colors = class_colors(md.class_names, md.normal_label)
    units = sorted(h.units) or [0]
    noise = any(np.isfinite(h.units[u].arrays()["noise"]).any() for u in h.units)
    ratios = [5, 0.6] + ([2] if noise else [])
    fig, axes = plt.subplots(len(units) * len(ratios), 1, figsize=(12, (2.2 + (0.8 if noise else 0)) * len(units) + 0.8),
                             squeeze=False, gridspec_kw={"height_ratios": ratios * len(units)}, sharex=True)
    verdicts = {v["unit"]: v for v in (h.summary or {}).get("verdicts", [])}
    cmap = ListedColormap([colors[n] for n in md.class_names])
    for k, u in enumerate(units):
        ax, strip = axes[k * len(ratios), 0], axes[k * len(ratios) + 1, 0]
        a = h.units[u].arrays() if u in h.units else {"t": np.zeros(0), "prob": np.zeros((0, len(md.class_names))),
                                                        "rejected": np.zeros(0), "noise": np.zeros(0)}
        for j, name in enumerate(md.class_names):
            ax.plot(a["t"], a["prob"][:, j], color=colors[name], lw=1.2, label=name)
        for sp in h.spans:
            if sp["unit"] == u:
                ax.axvspan(sp["start"], sp["end"], color=KIND_COLOURS.get(sp.get("kind"), "#d62728"), alpha=0.13)
                ax.text(sp["start"], 1.03, f"ALARM {sp['label']}", color="#d62728", fontsize=7)
        for g in h.gaps:
            ax.axvline(g, color="#555", ls="--", lw=0.8)
        rej = a["rejected"] > 0
        ax.plot(a["t"][rej], np.full(rej.sum(), -0.06), "k|", ms=6)
        ax.set_ylim(-0.1, 1.1)
        v = verdicts.get(u)
        ax.set_ylabel(f"channel {u}\nP(class)")
        if v:
            ax.set_title(f"channel {u}: {v['dominant'] or '-'} {100 * v['share']:.0f} %, {v['alarms_raised']} alarm(s), "
                         f"{v['rejected']} rejected, {v['unknown']} unknown", fontsize=8, loc="left")
        ax.grid(alpha=0.3)
        ok = np.isfinite(a["prob"]).all(axis=1) if len(a["t"]) else np.zeros(0, bool)
        if ok.any():
            edges = np.concatenate([[0.0], (a["t"][1:] + a["t"][:-1]) / 2, [a["t"][-1]]])
            strip.pcolormesh(edges, [0, 1], np.where(ok, a["prob"].argmax(1), np.nan)[None, :], cmap=cmap, vmin=-0.5,
                             vmax=len(md.class_names) - 0.5)
        strip.set_yticks([])
        strip.set_ylabel("decision", rotation=0, ha="right", va="center", fontsize=8)
        if noise:
            nax = axes[k * len(ratios) + 2, 0]
            nz = a["noise"]
            fin = np.isfinite(nz)
            if fin.any():
                lo, hi, ticks = noise_axis(float(nz[fin].min()), float(nz[fin].max()))
                nax.plot(a["t"][fin], nz[fin], color="#444", lw=1.0)
                nax.set_ylim(lo, hi)
                nax.set_yticks(ticks)
            nax.set_ylabel("noise\nlevel, dB", fontsize=8)
            nax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0)
    fig.suptitle(f"{h.stream}: smoothed class probabilities, alarms (shaded), rejected windows (ticks), gaps (dashed)"
                 + (f"; noise level: {NOISE_MEANING}" if noise else ""), fontsize=8)
    last = axes[-1, 0]
    t_max = max([float(h.units[u].arrays()["t"].max()) for u in h.units if h.units[u].n] + [1e-6])
    ticks = nice_ticks(t_max)
    last.set_xticks(ticks, [tick_label(t) for t in ticks])
    last.set_xlabel("stream time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
