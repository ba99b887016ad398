"""A model replaced while a 64-channel stream runs: every window decided once, none lost, a model_changed record per
swap and stream, a corrupt file refused while the stream goes on; a model of another shape or other classes is
refused in one line."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import onnx

from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.modelfile import read_description
from drsn_edge.runtime.model_swap import incompatibility

CHANNELS, SECONDS, FS = 64, 12.0, 12000


def copies(onnx_path, folder, n: int = 2) -> list:
    """The same model in files of different content (a retrain's output, as far as the hash goes)."""
    out = []
    for i in range(n):
        m = onnx.load(str(onnx_path))
        m.metadata_props.add(key="copy", value=str(i))
        p = folder / f"copy{i}.onnx"
        onnx.save(m, str(p))
        out.append(p)
    return out


def test_swaps_during_a_64_channel_stream(stream_model, tmp_path):
    _, model = stream_model
    live = tmp_path / "model.onnx"
    shutil.copy(model, live)
    a, b = copies(model, tmp_path)
    rng = np.random.default_rng(0)
    x = np.stack([simulate_bearing(("normal", "inner_race")[c % 2], duration=SECONDS, seed=c) for c in range(CHANNELS)])
    np.save(tmp_path / "x.npy", (x + 0.01 * rng.standard_normal(x.shape)).astype(np.float32))
    (tmp_path / "deploy.toml").write_text('model = "model.onnx"\njsonl = "out.jsonl"\n\n[[input]]\ninput = "x.npy"\n'
                                          'fs = 12000\nrealtime = true\nstream-id = "line"\n')
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "serve", str(tmp_path / "deploy.toml"),
                             "--watch-model", "0.1"], stderr=subprocess.PIPE, text=True)
    swaps = 0

    def replace():
        nonlocal swaps
        time.sleep(1.5)  # the stream has started
        for i in range(21):
            staged = tmp_path / "staged.onnx"
            if i == 10:  # a corrupt file dropped in: refused, the running model goes on
                staged.write_bytes(b"\x08\x07garbage" * 50)
            else:
                shutil.copy((a, b)[swaps % 2], staged)  # never the running one (a no-op)
                swaps += 1
            os.replace(staged, live)  # the atomic rename a deployment tool does
            time.sleep(0.4)

    t = threading.Thread(target=replace)
    t.start()
    _, err = proc.communicate(timeout=120)
    t.join()
    assert proc.returncode in (0, 1), err
    assert "refused" in err and "the running model goes on" in err and "Traceback" not in err
    recs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    windows = [r for r in recs if r["type"] == "window"]
    md = read_description(model)
    per_unit = (int(SECONDS * FS) - md.window) // md.hop + 1
    assert len(windows) == CHANNELS * per_unit  # none lost
    for u in range(CHANNELS):  # none decided twice, none skipped: each unit's window ends one hop apart
        t_u = np.array([w["stream_time"] for w in windows if w["unit"] == u])
        assert len(t_u) == per_unit and np.allclose(np.diff(t_u), md.hop / FS, atol=1e-5), u
    changed = [r for r in recs if r["type"] == "model_changed"]
    refused = [r for r in recs if r["type"] == "model_refused"]
    assert len(changed) == swaps == 20
    assert all(c["old"] != c["new"] for c in changed) and changed[0]["stream"] == "line"
    assert [c["new"] for c in changed[:-1]] == [c["old"] for c in changed[1:]]  # one chain of models, none skipped
    assert len(refused) == 1 and "not a loadable ONNX model" in refused[0]["reason"]
    summary = recs[-1]
    assert summary["type"] == "summary" and summary["processed"] == len(windows) and summary["dropped"] == 0


def test_incompatibility(stream_model):
    md = read_description(stream_model[1])
    assert incompatibility(md, md) is None
    assert "window is 4096, the running model's 2048" in incompatibility(md, dataclasses.replace(md, window=4096))
    other = dataclasses.replace(md, class_names=["normal", "fault"])
    assert "classes (normal, fault) differ" in incompatibility(md, other)
    assert "sample rate" in incompatibility(md, dataclasses.replace(md, sample_rate=48000.0))
