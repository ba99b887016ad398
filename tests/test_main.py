"""``python -m drsn_edge``: a stop that arrives while the command line is still being imported (before its signal
handlers are in place) ends the run with its summary, not with a traceback (found by the signals fuzz campaign)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from drsn_edge.data.simulator import simulate_bearing

INTERRUPTED_IMPORT = """
import runpy, sys

class Interrupt:
    done = False
    def find_spec(self, name, path=None, target=None):
        if name == "drsn_edge.cli.main" and not Interrupt.done:
            Interrupt.done = True
            raise KeyboardInterrupt  # what SIGINT does before a handler is installed
        return None

sys.meta_path.insert(0, Interrupt())
sys.argv = ["drsn_edge", *sys.argv[1:]]
runpy.run_module("drsn_edge", run_name="__main__")
"""


def test_a_stop_during_the_imports_ends_with_a_summary(stream_model, tmp_path):
    _, onnx_path = stream_model
    rec, out = tmp_path / "r.npy", tmp_path / "o.jsonl"
    np.save(rec, simulate_bearing("normal", duration=2.0, seed=1)[None])
    proc = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, "stream", str(onnx_path), str(rec), "--fs", "12000",
                           "--jsonl", str(out)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert "Traceback" not in proc.stderr, proc.stderr
    summary = json.loads(out.read_text().splitlines()[-1])
    assert summary["type"] == "summary" and summary["stopped"] is True
    assert proc.returncode == summary["exit_code"] == 0
