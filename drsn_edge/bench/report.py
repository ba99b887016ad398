"""Benchmark outputs: Markdown, JSON, plots (accuracy vs SNR; latency per interleaved round)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from drsn_edge.bench.machine import describe


def _f(v: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if v is None else fmt.format(v)


def _r(r: dict[str, float] | None) -> str:
    return "-" if r is None else f"{r['median']:.2f}x [{r['min']:.2f}-{r['max']:.2f}]"


def to_markdown(r: dict[str, Any], command: str = "") -> str:
    lines = [f"# drsn-edge bench: {r['model']['arch']} / {r['model']['preset']}", "",
             f"Machine: {describe(r['machine'])}.",
             f"Test windows: {r['test_windows']} ({r['data']}). Batch N = {r['batch']}. Timing: {r['rounds']} interleaved "
             "rounds (every format in turn, each round's median; figures are the median over rounds, spread = "
             "(max - min) / median of the round medians). FLOPs per window (Conv/Gemm): "
             f"{_f(r['flops_per_window'] and r['flops_per_window'] / 1e6, '{:.2f}')} M; single-core sgemm peak "
             f"{r['single_core_sgemm_gflops']:.1f} GFLOP/s. Run time {r['seconds']:.0f} s.", ""]
    if "time split" in r["data"] or r.get("training_split") == "time" or r.get("trained_on_all"):
        how = "it trained on every recording of this data" if r.get("trained_on_all") else \
            "a time split inside each recording"
        lines += ["The accuracy columns compare formats on the same windows. They come from recordings this model "
                  f"trained on ({how}), which flatters it: for recordings it never saw, "
                  "see the leave-one-load-out results (`cwru_generalization.md`).", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    head = ["format", "status", "size KiB", "b1 median ms (spread)", "b1 p99 ms", f"b{r['batch']} median ms (spread)",
            "GPU ms b1 / bN", "windows/s", "GFLOP/s", "% 1-core peak", "cold start s", "peak RSS MiB", "acc clean %",
            "bal. acc clean %"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in r["formats"]:
        if row["status"] != "ok":
            lines.append(f"| {row['format']} | {row['status']} |" + " |" * (len(head) - 2))
            continue
        b1, bn = row["latency_b1"], row["latency_bN"]
        lines.append("| " + " | ".join([
            row["format"], "ok", _f(row["size_kib"], "{:.0f}"), f"{b1['median_ms']:.3f} ({b1['spread_pct']:.0f} %)",
            _f(b1["p99_ms"]), f"{bn['median_ms']:.3f} ({bn['spread_pct']:.0f} %)",
            f"{_f(row.get('gpu_ms_b1'))} / {_f(row.get('gpu_ms_bN'))}" if "gpu_ms_b1" in row else "-",
            _f(bn["windows_per_s"], "{:.0f}"),
            _f(row.get("gflops_achieved_bN"), "{:.2f}"),
            _f(row.get("fraction_of_single_core_peak") and 100 * row["fraction_of_single_core_peak"], "{:.1f}"),
            _f(row.get("cold_start_s"), "{:.2f}"), _f(row.get("peak_rss_mib"), "{:.0f}"),
            _f(row.get("accuracy", {}).get("clean") and 100 * row["accuracy"]["clean"], "{:.2f}"),
            _f(row.get("balanced_accuracy_clean") and 100 * row["balanced_accuracy_clean"], "{:.2f}"),
        ]) + " |")
    acc_keys: list[str] = []
    for row in r["formats"]:
        for k in row.get("accuracy", {}):
            if k not in acc_keys:
                acc_keys.append(k)
    if acc_keys:
        lines += ["", "Accuracy (%) per noise and SNR:", "", "| format | " + " | ".join(acc_keys) + " |",
                  "|" + "---|" * (len(acc_keys) + 1)]
        for row in r["formats"]:
            if row["status"] == "ok" and "accuracy" in row:
                lines.append(f"| {row['format']} | " + " | ".join(_f(100 * row["accuracy"][k], "{:.2f}") for k in acc_keys)
                             + " |")
    alarmed = [row for row in r["formats"] if row["status"] == "ok" and "decided_by" in row.get("alarms", {})]
    if alarmed:
        a = alarmed[0]["alarms"]
        s = a["alarm"]
        lines += ["", f"Alarms: the test recordings streamed whole, decided as `drsn-edge stream` decides (by "
                  f"{a['decided_by']}; {s['smoothing']} windows smoothed at hop {a['hop']}, held {s['min_raise_s']:g} s):",
                  "", "| format | healthy hours | false alarms | per day (95 % bound) | fault recordings alarmed | "
                  "delay median / worst s |", "|---|---|---|---|---|---|"]
        for row in alarmed:
            a = row["alarms"]
            per_day = (f"{a['false_alarms_per_day']:g} ({a['false_alarms_per_day_bound_95']:g})"
                       if "false_alarms_per_day" in a else "-")
            faults = f"{a['alarmed']}/{a['fault_recordings']}" if "fault_recordings" in a else "-"
            delay = (f"{a['delay_median_s']:g} / {a['delay_worst_s']:g}" if "delay_median_s" in a else "-")
            lines.append(f"| {row['format']} | {a['healthy_hours']:g} | {a['false_alarms']} | {per_day} | {faults} | "
                         f"{delay} |")
        for row in r["formats"]:
            if row["status"] == "ok" and "failed" in row.get("alarms", {}):
                lines.append(f"| {row['format']} | failed: {row['alarms']['failed']} | | | | |")
    ra = r["ratios"]
    lines += ["", "Side-by-side ratios, median [min-max] over the rounds (above 1 = the second is faster):", "",
              f"- PyTorch eager / ONNX FP32, batch 1: {_r(ra['pytorch_over_onnx_fp32_b1'])}",
              f"- ONNX FP32 / INT8, batch {r['batch']}: {_r(ra['fp32_over_int8_bN'])}; batch 1: {_r(ra['fp32_over_int8_b1'])}",
              f"- ONNX FP32 / FP16 (CPU), batch {r['batch']}: {_r(ra['fp32_over_fp16_bN'])}",
              f"- CPU / CUDA graph, batch 1: {_r(ra['cpu_over_cuda_graph_b1'])}; batch {r['batch']}: "
              f"{_r(ra['cpu_over_cuda_graph_bN'])}",
              f"- INT8: {r['int8_note']}" + (f" (scheme: {r['int8_scheme']['activations']} activations, "
                                             f"{r['int8_scheme']['weights']} weights, reduce_range "
                                             f"{r['int8_scheme']['reduce_range']})" if r.get("int8_scheme") else "")]
    s = r.get("streaming")
    if s:
        o = s["overhead"]
        lines += ["", "Streaming runtime (one inference thread):", "",
                  f"- Per window, batch {o['batch']}, {o['channels']} channels at the model rate: runtime "
                  f"{o['runtime_ms_per_window']:.4f} ms vs bare session.run {o['bare_ms_per_window']:.4f} ms: "
                  f"**{o['ratio']['median']:.2f}x** [{o['ratio']['min']:.2f}-{o['ratio']['max']:.2f}] over {o['rounds']} rounds."
                  + (f" Its wall time is {o['ratio_to_own_inference']['median']:.2f}x "
                     f"[{o['ratio_to_own_inference']['min']:.2f}-{o['ratio_to_own_inference']['max']:.2f}] its own time "
                     f"inside the model ({o['model_ms_per_window_in_runtime']:.4f} ms per window there); the rest of "
                     "the gap is the model call itself, slower in the runtime than alone (the reader works on the "
                     "other core meanwhile)."
                     if "ratio_to_own_inference" in o else "")]
        c = s.get("stream_command", {})
        if "real_time_factor" in c:
            lines.append(f"- `drsn-edge stream`, {c['channels']} channels at {c['input_rate_hz'] / 1000:g} kHz from a file: "
                         f"**{c['real_time_factor']:.1f}x real time**"
                         + (f" [{c['real_time_factor_min']:.1f}-{c['real_time_factor_max']:.1f}], median of {c['rounds']} runs"
                            if c.get("rounds", 1) > 1 else "")
                         + f" ({c['processed']} windows, {c['dropped']} dropped).")
        pc = s.get("providers")
        if pc:
            lines += ["", f"`drsn-edge stream`, {pc['channels']} channels at {pc['input_rate_hz'] / 1000:g} kHz "
                      f"({pc['seconds']:g} s from a file), one provider after another in {pc['rounds']} interleaved "
                      "rounds:", "", "| provider | options | real-time factor (median) | per round | vs cpu, per round |",
                      "|---|---|---|---|---|"]
            for name, v in pc["variants"].items():
                if "error" in v:
                    lines.append(f"| {name} | {' '.join(v['options'])} | failed: {v['error']} | | |")
                    continue
                lines.append(f"| {name} | {' '.join(v['options']) or '-'} | {v['real_time_factor']:.1f}x | "
                             + ", ".join(f"{x:.1f}" for x in v["rounds_rtf"]) + " | "
                             + (_r(v["over_cpu"]) if "over_cpu" in v else "-") + " |")
        for fs, cap in (s.get("capacity") or {}).items():
            lines.append(f"- Channels sustained in real time on one core at {float(fs) / 1000:g} kHz (paced input, "
                         f"bisected, {cap['seconds_per_trial']:g} s per trial): **{cap['channels']}**.")
    fl = r["floors"]
    if fl["accuracy"] is not None or fl["latency_ms"] is not None:
        lines += ["", "Floors: " + ("passed" if fl["passed"] else "FAILED: " + "; ".join(fl["failures"]))]
    return "\n".join(lines) + "\n"


def plot(r: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [row for row in r["formats"] if row["status"] == "ok"]
    styles = ["-o", "--s", "-.^", ":D", "-v", "--x", "-.P", ":*"]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for i, row in enumerate(ok):
        acc = row.get("accuracy", {})
        pts = sorted((float(k.split()[-2]), 100 * v) for k, v in acc.items() if k.startswith("gaussian"))
        if pts:
            ax.plot(*zip(*pts), styles[i % len(styles)], label=row["format"], alpha=0.85, ms=5)
    ax.set_xlabel("SNR (dB), Gaussian noise")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Accuracy vs noise, every format")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    p1 = out / "accuracy_vs_snr.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, title in ((axes[0], "latency_b1", "batch 1"), (axes[1], "latency_bN", f"batch {r['batch']}")):
        names = [row["format"] for row in ok]
        for i, row in enumerate(ok):
            v = row[key]["rounds_ms"]
            ax.plot([i] * len(v), v, "o", alpha=0.6, ms=4)
            ax.plot([i - 0.25, i + 0.25], [row[key]["median_ms"]] * 2, "k-", lw=1.5)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("ms per call (median of each round; bar: median)")
        ax.set_title(f"Latency per interleaved round, {title}")
        ax.grid(alpha=0.3, which="both", axis="y")
    fig.tight_layout()
    p2 = out / "latency_rounds.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]


def write_report(r: dict[str, Any], out: Path, command: str = "") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    r = dict(r, command=command)
    (out / "bench.json").write_text(json.dumps(r, indent=1))
    (out / "bench.md").write_text(to_markdown(r, command))
    return [out / "bench.json", out / "bench.md", *plot(r, out)]
