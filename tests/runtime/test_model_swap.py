"""A model replaced while a 64-channel stream runs: every window decided once, none lost, a model_changed record per
swap and stream, a corrupt file refused while the stream goes on; a model of another shape is refused in one line;
a model of other classes is taken (named by a changed deployment file), what the new model can hold carried over."""

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
import onnx.numpy_helper

from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.modelfile import ModelMetadata, read_description
from drsn_edge.modelfile.onnx_props import write_description
from drsn_edge.runtime.config import StreamConfig
from drsn_edge.runtime.decisions import AlarmConfig, Decider
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
    assert "sample rate" in incompatibility(md, dataclasses.replace(md, sample_rate=48000.0))
    other = dataclasses.replace(md, class_names=["normal", "fault"])
    assert incompatibility(md, other, [StreamConfig()]) is None  # other classes: taken, and said
    named = StreamConfig(normal_label="normal")  # ...unless a stream's settings cannot hold for them
    assert "normal label 'normal' is not a class" in incompatibility(md, dataclasses.replace(
        md, class_names=["healthy", "fault"], normal_label="healthy"), [named])


def _decider(names, novelty=False):
    md = ModelMetadata(list(names), 12000.0, 2048, 1024, 1, ["x"], extra_outputs=["novelty"] if novelty else [],
                       novelty={"threshold": 1.0} if novelty else {})
    cfg = StreamConfig(smoothing=1, alarm=AlarmConfig(raise_at=0.8, clear_at=0.4, min_raise_s=0.0, min_clear_s=0.0))
    return Decider(2, md, cfg, "normal"), md


def _probs(names, label):
    p = np.full((1, len(names)), 0.01)
    p[0, names.index(label)] = 1.0
    return p / p.sum()


def test_decider_take_over_carries_what_the_new_model_can_hold():
    old_names = ["normal", "inner_race", "ball", "outer_race"]
    old, _ = _decider(old_names, novelty=True)
    t = 0.0
    for unit, label in ((0, "inner_race"), (1, "ball")):  # unit 0 in alarm on inner_race, unit 1 on ball
        _, _, _, events = old.decide(np.array([unit]), _probs(old_names, label), {"novelty": np.zeros(1)},
                                     np.array([t]))
        assert [e.label for e in events] == [label]
    _, _, _, events = old.decide(np.array([0]), _probs(old_names, "inner_race"), {"novelty": np.array([5.0])},
                                 np.array([0.1]))  # an unknown window: a novelty alarm too
    assert [(e.kind, e.state) for e in events] == [("novelty", "alarm")]
    new_names = ["normal", "outer_race", "inner_race"]  # ball gone, order changed
    new, _ = _decider(new_names, novelty=True)
    cleared = new.take_over(old, 0.5)
    assert [(e.unit, e.state, e.label, e.kind) for e in cleared] == [(1, "clear", "normal", "fault")]
    assert new.alarms.machines[0].active and new.alarms.machines[0].label == "inner_race"
    assert not new.alarms.machines[1].active and new.alarms.machines[1].last_clear == 0.5
    assert new.novelty.alarms is old.novelty.alarms and new.novelty.threshold == 1.0
    plain, _ = _decider(new_names)  # a model without the novelty head: the novelty alarm it cannot hold is cleared
    assert [(e.unit, e.kind, e.state) for e in plain.take_over(new, 0.6)] == [(0, "novelty", "clear")]
    assert plain.alarms.machines[0].active  # the fault alarm it can hold goes on
    # unit 0's alarms go on: no second raise while inner_race holds, each cleared once, when the windows say so
    _, _, _, events = new.decide(np.array([0, 0]), np.concatenate([_probs(new_names, "inner_race"),
                                 _probs(new_names, "normal")]), {"novelty": np.zeros(2)}, np.array([1.0, 1.1]))
    assert sorted((e.kind, e.state, e.stream_time) for e in events) == [("fault", "clear", 1.1),
                                                                         ("novelty", "clear", 1.0)]


def reclassed(onnx_path, out, keep: list[int]):
    """The model with its logits narrowed and reordered to ``keep``: a model of other classes, as far as the runtime
    can tell (a retrain that dropped a class)."""
    m = onnx.load(str(onnx_path))
    md = read_description(onnx_path)
    out_logits = next(o for o in m.graph.output if o.name == md.output_name)
    for node in m.graph.node:
        node.output[:] = [f"{md.output_name}_all" if o == md.output_name else o for o in node.output]
    m.graph.initializer.append(onnx.numpy_helper.from_array(np.array(keep, np.int64), "keep_classes"))
    m.graph.node.append(onnx.helper.make_node("Gather", [f"{md.output_name}_all", "keep_classes"], [md.output_name],
                                              axis=1))
    out_logits.type.tensor_type.shape.dim[1].dim_value = len(keep)
    write_description(m, dataclasses.replace(md, class_names=[md.class_names[k] for k in keep]))
    onnx.save(m, str(out))
    return out


def test_serve_follows_its_deployment_file_to_a_model_of_other_classes(stream_model, tmp_path):
    """The deployment file names another model (a class fewer, in another order) while serving: it is swapped in
    between batches, every window decided once, the change said; another key changed waits for a restart (said);
    the report is rewritten while streaming and ends with every class seen."""
    _, model = stream_model
    md = read_description(model)
    keep = [0, 3, 1]  # normal, outer_race, inner_race: ball dropped
    reclassed(model, tmp_path / "other.onnx", keep)
    seconds, channels = 8.0, 4
    x = np.stack([simulate_bearing(("normal", "inner_race", "ball", "outer_race")[c], duration=seconds, seed=c)
                  for c in range(channels)])
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    deploy = tmp_path / "deploy.toml"
    text = ('model = "{}"\njsonl = "out.jsonl"\nreport = "report.html"\nreport-every = "1s"\nraise = 0.8\n\n'
            '[[input]]\ninput = "x.npy"\nfs = 12000\nrealtime = true\nstream-id = "line"\n')
    deploy.write_text(text.format(model))
    proc = subprocess.Popen([sys.executable, "-m", "drsn_edge", "serve", str(deploy), "--watch-model", "0.2"],
                            stderr=subprocess.PIPE, text=True)
    seen_mid_run = []

    def edit():
        time.sleep(3.0)
        seen_mid_run.append((tmp_path / "report.html").exists())
        staged = tmp_path / "deploy.toml.new"
        staged.write_text(text.format("other.onnx").replace("raise = 0.8", "raise = 0.7"))
        os.replace(staged, deploy)

    t = threading.Thread(target=edit)
    t.start()
    _, err = proc.communicate(timeout=120)
    t.join()
    assert proc.returncode in (0, 1), err
    assert "Traceback" not in err and "raise changed: applied at the next restart" in err
    assert seen_mid_run == [True]  # written on schedule, before the stream ended
    recs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    changed = [r for r in recs if r["type"] == "model_changed"]
    assert len(changed) == 1 and changed[0]["path"].endswith("other.onnx")
    assert changed[0]["classes"]["removed"] == ["ball"] and changed[0]["classes"]["added"] == []
    assert changed[0]["classes"]["now"] == ["normal", "outer_race", "inner_race"]
    windows = [r for r in recs if r["type"] == "window"]
    per_unit = (int(seconds * 12000) - md.window) // md.hop + 1
    assert len(windows) == channels * per_unit
    for u in range(channels):
        t_u = np.array([w["stream_time"] for w in windows if w["unit"] == u])
        assert np.allclose(np.diff(t_u), md.hop / 12000, atol=1e-5), u
    after = [w for w in windows if w["stream_time"] > changed[0]["stream_time"]]
    assert after and all(list(w["probabilities"]) == ["normal", "outer_race", "inner_race"] for w in after)
    before = [w for w in windows if w["stream_time"] <= changed[0]["stream_time"]]
    assert before and all(len(w["probabilities"]) == 4 for w in before)
    summary = recs[-1]
    assert summary["model"]["classes"] == ["normal", "outer_race", "inner_race"]
    report = (tmp_path / "report.html").read_text()
    assert all(c in report for c in ("ball", "outer_race", "inner_race")) and not (tmp_path / "report.html.tmp").exists()
