"""Throughput of a model served by Triton to N concurrent streaming clients, with and without dynamic batching.

Each client is a process doing what ``drsn-edge stream triton://...`` does for one channel: send one window, wait for
its decision, send the next (the runtime's Triton backend, over real gRPC). Windows per second over all clients is
turned into the number of 12 kHz channels the server keeps up with (a channel makes ``12000 / hop`` windows per
second). Server configurations alternate round by round (the same model repository, restarted), so machine noise
spreads over both; the spread of the rounds is reported. The local ONNX Runtime backend on the same machine, batch 1,
one process, is the reference.

    .venv/bin/python benchmarks/triton_bench.py --clients 1,4,16 --seconds 8 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from triton_server import TritonServer, server_unavailable_reason  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "drsn_edge" / "zoo" / "cwru-wide.safetensors"
FS = 12000.0


def _client(url: str, seconds: float, start_at: float, queue) -> None:
    from drsn_edge.runtime.backends.triton_backend import TritonBackend

    be = TritonBackend(url)
    md = be.describe()
    be.activate()
    x = np.random.default_rng(0).standard_normal((1, md.in_channels, md.window)).astype(np.float32)
    for _ in range(5):  # warm the connection
        be.infer_all(x)
    while time.time() < start_at:
        time.sleep(0.001)
    lat, end = [], start_at + seconds
    while time.time() < end:
        t0 = time.perf_counter()
        be.infer_all(x)
        lat.append(time.perf_counter() - t0)
    be.close()
    queue.put(lat)


def measure(url: str, clients: int, seconds: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + 3.0 + 0.3 * clients  # every client connected and warm before the clock starts
    procs = [ctx.Process(target=_client, args=(url, seconds, start_at, q)) for _ in range(clients)]
    for p in procs:
        p.start()
    lats = [q.get(timeout=120 + seconds) for _ in procs]
    for p in procs:
        p.join()
    all_lat = np.concatenate([np.asarray(v) for v in lats]) * 1e3
    return {"clients": clients, "windows_per_s": len(all_lat) / seconds,
            "latency_ms_p50": float(np.percentile(all_lat, 50)), "latency_ms_p99": float(np.percentile(all_lat, 99))}


def local_reference(onnx: Path, seconds: float) -> dict[str, Any]:
    from drsn_edge.runtime.loader import open_model

    be, md = open_model(str(onnx))
    be.activate()
    x = np.random.default_rng(0).standard_normal((1, md.in_channels, md.window)).astype(np.float32)
    for _ in range(20):
        be.infer(x)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        be.infer(x)
        n += 1
    return {"windows_per_s": n / (time.perf_counter() - t0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(MODEL))
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--latency-ms", type=float, default=10.0, help="the export's latency budget (dynamic batching)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "triton"))
    args = ap.parse_args()
    if (why := server_unavailable_reason()) is not None:
        sys.exit(f"no Triton server here: {why} (run make triton-server)")
    from drsn_edge.bench.machine import machine_info
    from drsn_edge.export.pipeline import ExportOptions, export_all
    from drsn_edge.export.triton import TritonOptions
    from drsn_edge.modelfile import read_description

    clients = [int(c) for c in args.clients.split(",")]
    work = Path(tempfile.mkdtemp(prefix="triton-bench-"))
    onnx = work / "model.onnx"
    export_all(args.model, onnx, ExportOptions(verify=False, triton=TritonOptions(
        repository=str(work / "repo"), name="drsn", latency_budget_ms=args.latency_ms, device="cpu")),
        log=lambda s: None)
    md = read_description(onnx)
    configs = {"dynamic batching": False, "no dynamic batching": True}
    runs: dict[str, list[list[dict[str, Any]]]] = {k: [] for k in configs}
    local = []
    for r in range(args.rounds):
        for name, no_dyn in configs.items():
            with TritonServer(work / "repo", "drsn", log=work / "server.log", no_dynamic_batching=no_dyn) as srv:
                runs[name].append([measure(srv.url, n, args.seconds) for n in clients])
                print(f"round {r + 1} {name}: " + ", ".join(f"{m['clients']} client(s) {m['windows_per_s']:.0f} w/s"
                                                         for m in runs[name][-1]), flush=True)
        local.append(local_reference(onnx, args.seconds))
    per_window_s = md.hop / FS
    table: dict[str, Any] = {}
    for name, rounds in runs.items():
        table[name] = []
        for i, n in enumerate(clients):
            w = np.array([rd[i]["windows_per_s"] for rd in rounds])
            table[name].append({"clients": n, "windows_per_s": {"mean": float(w.mean()), "min": float(w.min()),
                                                                 "max": float(w.max())},
                                "channels_12k": float(w.mean() * per_window_s),
                                "latency_ms_p50": float(np.median([rd[i]["latency_ms_p50"] for rd in rounds])),
                                "latency_ms_p99": float(np.max([rd[i]["latency_ms_p99"] for rd in rounds]))})
    lw = np.array([x["windows_per_s"] for x in local])
    out = {"command": "python benchmarks/triton_bench.py " + " ".join(sys.argv[1:]),
           "model": Path(args.model).name, "window": md.window, "hop": md.hop, "seconds": args.seconds,
           "rounds": args.rounds, "latency_budget_ms": args.latency_ms,
           "machine": machine_info(),
           "server": "nvidia-pytriton 0.7.0 (tritonserver), ONNX Runtime CPU, 1 instance, same machine as the clients",
           "results": table, "local_onnxruntime_b1": {"mean": float(lw.mean()), "min": float(lw.min()),
                                                      "max": float(lw.max()),
                                                      "channels_12k": float(lw.mean() * per_window_s)}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps(out, indent=1))
    Path(args.out + ".md").write_text(to_markdown(out))
    print(to_markdown(out))


def to_markdown(out: dict[str, Any]) -> str:
    lines = [f"# Triton: windows/s to N streaming clients ({out['model']}, window {out['window']}, hop {out['hop']})",
             "", f"Each client sends one window and waits for its decision (the runtime's Triton backend over gRPC); "
             f"{out['seconds']:.0f} s per cell, {out['rounds']} rounds alternating the server configuration, "
             f"mean [min-max] over rounds. Channels = windows/s x hop / 12 kHz. Dynamic batching: latency budget "
             f"{out['latency_budget_ms']:g} ms (queue delay half of it), preferred batch sizes from the export.", "",
             f"Machine: {out['machine']['cpu']}, {out['machine']['cores']} cores; {out['server']}. "
             f"Command: `{out.get('command', '')}` (training jobs paused while it ran).", "",
             "| server | clients | windows/s | 12 kHz channels | p50 ms | p99 ms |", "|---|---|---|---|---|---|"]
    for name, rows in out["results"].items():
        for r in rows:
            w = r["windows_per_s"]
            lines.append(f"| {name} | {r['clients']} | {w['mean']:.0f} [{w['min']:.0f}-{w['max']:.0f}] | "
                         f"{r['channels_12k']:.0f} | {r['latency_ms_p50']:.2f} | {r['latency_ms_p99']:.2f} |")
    lo = out["local_onnxruntime_b1"]
    lines += ["", f"Reference, local ONNX Runtime in one process, batch 1: {lo['mean']:.0f} [{lo['min']:.0f}-"
              f"{lo['max']:.0f}] windows/s ({lo['channels_12k']:.0f} channels).", ""]
    dyn, plain = out["results"]["dynamic batching"], out["results"]["no dynamic batching"]
    ratios = ", ".join(f"{d['clients']} client(s) {d['windows_per_s']['mean'] / p['windows_per_s']['mean']:.2f}x"
                       for d, p in zip(dyn, plain))
    lines += [f"Dynamic batching / none, windows/s: {ratios}. Reading: with one client the batcher's queue delay only "
              "adds latency; with many it gathers their windows into one run and throughput grows with the clients, "
              "while without it requests queue one by one. The server here is PyTriton (the model runs in a Python "
              "backend process fed through shared memory), so each request costs milliseconds that Triton's native "
              "ONNX Runtime or TensorRT backend on a GPU server does not; absolute figures are this 2-core box's, "
              "the ratios are the point.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
