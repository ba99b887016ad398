"""Benchmark outputs: Markdown table, JSON, plots (accuracy vs SNR; latency CDF)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _f(v: float | None, fmt: str = "{:.3f}") -> str:
    return "-" if v is None else fmt.format(v)


def to_markdown(r: dict[str, Any], command: str = "") -> str:
    m = r["machine"]
    lines = [f"# drsn-edge bench: {r['model']['arch']} / {r['model']['preset']}", "",
             f"Machine: {m['cpu']}, {m['cores']} cores; onnxruntime {m['onnxruntime']}, torch {m.get('torch', '-')}, "
             f"numpy {m['numpy']}, Python {m['python']}; GPU: {m['gpu']['name'] if m['gpu'] else 'none'}.",
             f"Threads per inference: {r['threads']}. Test windows: {r['test_windows']}. Batch N = {r['batch']}. "
             f"FLOPs per window (Conv/Gemm): {_f(r['flops_per_window'] and r['flops_per_window'] / 1e6, '{:.2f}')} M; "
             f"single-core sgemm peak {r['single_core_sgemm_gflops']:.1f} GFLOP/s. Run time {r['seconds']:.0f} s.", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    acc_keys = []
    for row in r["formats"]:
        for k in row.get("accuracy", {}):
            if k not in acc_keys:
                acc_keys.append(k)
    head = ["format", "status", "size KiB", "b1 median ms", "b1 p99 ms", f"b{r['batch']} median ms", "windows/s",
            "GFLOP/s", "% 1-core peak", "cold start s", "peak RSS MiB", "acc clean %", "acc mean %"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in r["formats"]:
        if row["status"] != "ok":
            lines.append(f"| {row['format']} | {row['status']} |" + " |" * (len(head) - 2))
            continue
        b1, bn = row["latency_b1"], row["latency_bN"]
        lines.append("| " + " | ".join([
            row["format"], "ok", _f(row["size_kib"], "{:.0f}"), _f(b1["median_ms"]), _f(b1["p99_ms"]),
            _f(bn["median_ms"]), _f(bn["windows_per_s"], "{:.0f}"), _f(row.get("gflops_achieved_bN"), "{:.2f}"),
            _f(row.get("fraction_of_single_core_peak") and 100 * row["fraction_of_single_core_peak"], "{:.1f}"),
            _f(row.get("cold_start_s"), "{:.2f}"), _f(row.get("peak_rss_mib"), "{:.0f}"),
            _f(100 * row["accuracy"].get("clean", float("nan")), "{:.2f}"), _f(100 * row["accuracy_overall"], "{:.2f}"),
        ]) + " |")
    lines += ["", "Accuracy (%) per noise and SNR:", "", "| format | " + " | ".join(acc_keys) + " |",
              "|" + "---|" * (len(acc_keys) + 1)]
    for row in r["formats"]:
        if row["status"] == "ok":
            lines.append(f"| {row['format']} | " + " | ".join(_f(100 * row["accuracy"][k], "{:.2f}") for k in acc_keys) + " |")
    ra = r["ratios"]
    lines += ["", "Side-by-side ratios (same run):", "",
              f"- PyTorch eager / ONNX FP32 latency at batch 1: {_f(ra['pytorch_over_onnx_fp32_latency_b1'], '{:.2f}')}x "
              f"(optimized ONNX: {_f(ra['pytorch_over_onnx_optimized_latency_b1'], '{:.2f}')}x)",
              f"- INT8 / FP32 (optimized) latency: batch {r['batch']} {_f(ra['int8_over_fp32_latency_bN'], '{:.2f}')}x, "
              f"batch 1 {_f(ra['int8_over_fp32_latency_b1'], '{:.2f}')}x (below 1 = INT8 faster)",
              f"- streaming runtime per-window cost / bare InferenceSession.run: "
              f"{_f(ra.get('runtime_over_bare_session_per_window'), '{:.2f}')}x"]
    s = r.get("streaming")
    if s:
        pw, live = s["per_window"], s["live_replay_4ch"]["latency_ms"]
        rtf = ", ".join(f"{c} ch {v:.0f}x" for c, v in s["real_time_factor"].items())
        lines += ["", f"Streaming at {s['input_rate_hz'] / 1000:g} kHz input on {s['threads']} thread(s): "
                  f"real-time factor {rtf}; "
                  f"about {s['channels_sustained_estimate']} channels sustainable in real time (linear estimate). "
                  f"Per window: runtime {pw['runtime_ms']:.3f} ms vs bare session.run {pw['bare_session_run_ms']:.3f} ms "
                  f"(overhead {pw['overhead_ms']:.3f} ms). Live replay, 4 channels: decision latency p50 {live['p50']:.2f} ms, "
                  f"p90 {live['p90']:.2f}, p99 {live['p99']:.2f}, max {live['max']:.2f} ms."]
    fl = r["floors"]
    if fl["accuracy"] is not None or fl["latency_ms"] is not None:
        lines += ["", "Floors: " + ("passed" if fl["passed"] else "FAILED: " + "; ".join(fl["failures"]))]
    return "\n".join(lines) + "\n"


def plot(r: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import numpy as np

    ok = [row for row in r["formats"] if row["status"] == "ok"]
    noises = sorted({k.split()[0] for row in ok for k in row["accuracy"] if k != "clean"})
    fig, axes = plt.subplots(1, max(1, len(noises)), figsize=(5.2 * max(1, len(noises)), 4.2), squeeze=False)
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."), ("v", "-"), ("P", "--"), ("X", ":"), ("*", "-.")]
    for ax, noise in zip(axes[0], noises):
        for i, row in enumerate(ok):  # identical results overlap: distinct markers and dashes keep each visible
            pts = sorted((float(k.split()[1]), 100 * v) for k, v in row["accuracy"].items() if k.startswith(noise + " "))
            marker, dash = styles[i % len(styles)]
            ax.plot(*zip(*pts), marker=marker, linestyle=dash, markersize=9 - i, label=row["format"], alpha=0.85)
        ax.set_title(f"{noise} noise")
        ax.set_xlabel("SNR (dB)")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    p1 = out / "accuracy_vs_snr.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, title in ((axes[0], "latency_b1", "batch 1"), (axes[1], "latency_bN", f"batch {r['batch']}")):
        for row in ok:
            a = np.sort(np.array(row[key]["samples_ms"]))
            ax.plot(a, np.arange(1, len(a) + 1) / len(a), label=row["format"])
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("latency per call (ms, log scale)")
        ax.set_ylabel("fraction of calls")
        ax.set_title(f"Latency CDF, {title}")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    p2 = out / "latency_cdf.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [p1, p2]


def write_report(r: dict[str, Any], out: Path, command: str = "") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    slim = json.loads(json.dumps(r))
    for row in slim["formats"]:
        for key in ("latency_b1", "latency_bN"):
            if key in row:
                row[key].pop("samples_ms", None)
    slim["command"] = command
    (out / "bench.json").write_text(json.dumps(slim, indent=1))
    (out / "bench.md").write_text(to_markdown(r, command))
    return [out / "bench.json", out / "bench.md", *plot(r, out)]
