"""Training beside other work: ``drsn-edge train`` (200 steps on the simulator) alone, and beside one busy process
(a core-bound loop, as a stream or a second job would be), three ways: train's default (OpenMP threads that spin
while they wait, as many as the cores other processes leave free, re-read every second), and every core's thread
(``--threads``) spinning (``OMP_WAIT_POLICY=ACTIVE``) or sleeping (``PASSIVE``, what ``--threads`` gets unless the
environment says otherwise).

    python benchmarks/train_beside.py        # writes benchmarks/results/train_beside.{json,md}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drsn_edge.bench.machine import describe, machine_info
from drsn_edge.training.threads import usable_cores

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BUSY = "import time\nt = time.time()\nwhile time.time() - t < 600: pass\n"


#: name -> (OMP_WAIT_POLICY or None: the command's choice, --threads given)
WAYS = {"default: spinning, the free cores": (None, False), "PASSIVE, every core": ("PASSIVE", True),
        "ACTIVE, every core": ("ACTIVE", True)}


def train_seconds(way: str, out: Path) -> float:
    policy, pinned = WAYS[way]
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    threads = ["--threads", str(usable_cores())] if pinned else []
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "drsn_edge", "train", "--data", "sim", "--sim-duration", "3", "--epochs", "2",
                    "--steps-per-epoch", "100", "--batch-size", "32", "--no-refit", "--quiet", *threads,
                    "--out", str(out)], env=env, check=True, capture_output=True)
    return round(time.perf_counter() - t0, 1)


def main(rounds: int = 3) -> None:
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        train_seconds("ACTIVE, every core", Path(tmp) / "w.safetensors")  # warm: caches, the first import
        for _ in range(rounds):  # interleaved
            for way in WAYS:
                times.setdefault((way, "alone"), []).append(train_seconds(way, Path(tmp) / "a.safetensors"))
                busy = subprocess.Popen([sys.executable, "-c", BUSY])
                try:
                    times.setdefault((way, "beside"), []).append(train_seconds(way, Path(tmp) / "b.safetensors"))
                finally:
                    busy.kill()
                    busy.wait()
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    rows = [{"way": w, "alone_s": med[(w, "alone")], "beside_busy_s": med[(w, "beside")],
             "slowdown": round(med[(w, "beside")] / med[(w, "alone")], 2),
             "all": {k[1]: v for k, v in times.items() if k[0] == w}} for w in WAYS]
    out = {"rows": rows, "machine": machine_info()}
    (RESULTS / "train_beside.json").write_text(json.dumps(out, indent=1))
    md = ["# Training beside other work", "", __doc__.split("\n\n")[0], "",
          "| threads | alone s | beside one busy process s | beside / alone |", "|---|---|---|---|"]
    md += [f"| {r['way']} | {r['alone_s']} | {r['beside_busy_s']} | {r['slowdown']}x |" for r in rows]
    md += ["", f"Median of {rounds} interleaved rounds after a warm-up run; each time includes the process start and "
           "the simulator's data (a few seconds).", "",
           f"Machine: {describe(out['machine'])}"]
    (RESULTS / "train_beside.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
