"""How long the main jobs take on this machine, idle: the demo (``make demo`` after the install) and ``train``'s
default recipe on the MFPT recordings (12 of them, loads 6 and 7 held out: the README's "your own data" walk-through).

Each job runs as its own process, one after the other, with nothing else running; the README quotes these figures.

    python benchmarks/timings.py            # writes benchmarks/results/timings.{json,md}
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from drsn_edge.bench.machine import describe, machine_info

ROOT = Path(__file__).resolve().parents[1]
MFPT = ROOT.parent / "shared" / "data" / "mfpt"
RESULTS = ROOT / "benchmarks" / "results"


def timed(argv: list[str], log: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    with open(log, "w") as f:
        code = subprocess.run([sys.executable, "-m", "drsn_edge", *argv], stdout=f, stderr=subprocess.STDOUT).returncode
    return {"command": "drsn-edge " + " ".join(argv), "seconds": round(time.perf_counter() - t0, 1), "exit_code": code}


def epoch_seconds(log: Path) -> float | None:
    """The trainer's own time per epoch, from its log (``... s/epoch``)."""
    found = [float(m) for m in re.findall(r"([\d.]+) s/epoch", log.read_text())]
    return round(sorted(found)[len(found) // 2], 2) if found else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=RESULTS / "timings.json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append({"job": "demo (make demo after the install)",
                     **timed(["demo", "--out", str(work / "demo")], work / "demo.log")})
        if (MFPT / "manifest.csv").is_file():
            log = work / "train.log"
            row = timed(["train", "--data", str(MFPT / "manifest.csv"), "--split", "group", "--test-group",
                         "load6,load7", "--out", str(work / "mfpt.safetensors")], log)
            rows.append({"job": "train, default recipe, MFPT (12 recordings for training and validation)", **row,
                         "seconds_per_epoch": epoch_seconds(log)})
            (RESULTS / "timings_train.log").write_text(log.read_text()[-4000:])
    out = {"rows": rows, "machine": machine_info()}
    args.out.write_text(json.dumps(out, indent=1))
    md = ["# How long the main jobs take", "", __doc__.split("\n\n")[1], "",
          "| job | command | wall s | s per epoch | exit |", "|---|---|---|---|---|"]
    for r in rows:
        cmd = re.sub(r"/tmp/[^ /]+/", "", r["command"].replace(str(ROOT.parent), ".."))  # the temporary folder
        md.append(f"| {r['job']} | `{cmd}` | {r['seconds']:.0f} | "
                  f"{r.get('seconds_per_epoch') or '-'} | {r['exit_code']} |")
    md += ["", f"Machine: {describe(out['machine'])}"]
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
