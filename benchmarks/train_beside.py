"""Training beside other work: ``drsn-edge train`` (a short run on the simulator) alone, and beside one busy process
(a core-bound loop, as a stream or a second job would be), with torch's OpenMP threads spinning while they wait
(``OMP_WAIT_POLICY=ACTIVE``, libgomp's default) and sleeping (``PASSIVE``, what the README advises where the box
does other work).

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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BUSY = "import time\nt = time.time()\nwhile time.time() - t < 600: pass\n"


def train_seconds(policy: str, out: Path) -> float:
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    env.pop("OMP_NUM_THREADS", None)  # torch's default: one thread per core
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "drsn_edge", "train", "--data", "sim", "--sim-duration", "3", "--epochs", "1",
                    "--steps-per-epoch", "20", "--batch-size", "32", "--no-refit", "--quiet", "--out", str(out)],
                   env=env, check=True, capture_output=True)
    return round(time.perf_counter() - t0, 1)


def main(rounds: int = 3) -> None:
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        train_seconds("ACTIVE", Path(tmp) / "w.safetensors")  # warm: caches, the first import
        for _ in range(rounds):  # interleaved
            for policy in ("PASSIVE", "ACTIVE"):
                times.setdefault((policy, "alone"), []).append(train_seconds(policy, Path(tmp) / "a.safetensors"))
                busy = subprocess.Popen([sys.executable, "-c", BUSY])
                try:
                    times.setdefault((policy, "beside"), []).append(train_seconds(policy, Path(tmp) / "b.safetensors"))
                finally:
                    busy.kill()
                    busy.wait()
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    rows = [{"OMP_WAIT_POLICY": p, "alone_s": med[(p, "alone")], "beside_busy_s": med[(p, "beside")],
             "slowdown": round(med[(p, "beside")] / med[(p, "alone")], 2),
             "all": {k[1]: v for k, v in times.items() if k[0] == p}} for p in ("PASSIVE", "ACTIVE")]
    out = {"rows": rows, "machine": machine_info()}
    (RESULTS / "train_beside.json").write_text(json.dumps(out, indent=1))
    md = ["# Training beside other work", "", __doc__.split("\n\n")[0], "",
          "| OMP_WAIT_POLICY | alone s | beside one busy process s | slowdown |", "|---|---|---|---|"]
    md += [f"| {r['OMP_WAIT_POLICY']} | {r['alone_s']} | {r['beside_busy_s']} | {r['slowdown']}x |" for r in rows]
    md += ["", f"Median of {rounds} interleaved rounds after a warm-up run; each time includes the process start and "
           "the simulator's data (a few seconds).", "",
           f"Machine: {describe(out['machine'])}"]
    (RESULTS / "train_beside.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
