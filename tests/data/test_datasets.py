"""Your own recordings: folder and manifest layouts in every format, splits without leakage, data inspect, and the
CLI refusing bad data with one line naming the file."""

import json
import os

import numpy as np
import pytest
import scipy.io as sio
import soundfile as sf

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.simulator import simulate_bearing
from drsn_edge.data.splits import SplitSpec
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import read_description
from drsn_edge.zoo import MODELS
from tests.cli_helpers import assert_one_line_error, run_cli

CONDITIONS = ("normal", "outer_race")


def sig(cond, fs, seconds, seed):
    return simulate_bearing(cond, fs=fs, duration=seconds, seed=seed, resonance_band=(1500, 5000))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """normal/ and outer_race/, two machines (group subfolders) each, one file per format, mixed rates."""
    root = tmp_path_factory.mktemp("recs")
    for ci, cond in enumerate(CONDITIONS):
        for m, machine in enumerate(("pump-a", "pump-b")):
            d = root / cond / machine
            d.mkdir(parents=True)
            seed = 10 * ci + m
            sf.write(d / "r.wav", sig(cond, 12000, 2.0, seed), 12000, subtype="FLOAT")
            sf.write(d / "r.flac", sig(cond, 24000, 2.0, seed + 1) / 4, 24000)
            np.save(d / "r.npy", sig(cond, 12000, 2.0, seed + 2)[None])
            t = np.arange(24000) / 12000
            np.savetxt(d / "r.csv", np.c_[t, sig(cond, 12000, 2.0, seed + 3)], delimiter=",", header="time_s,accel",
                       comments="")
            sio.savemat(d / "r.mat", {"bearing": {"gs": sig(cond, 48000, 2.0, seed + 4)[:, None], "sr": 48000.0}})
    (root / "classes.txt").write_text("outer_race\nnormal\n")
    return root


def test_folder_every_format_resampled_with_groups(folder):
    ds = load_dataset(DataSpec("folder", {"root": str(folder), "file_fs": 12000, "scale": 1.0}))
    assert ds.class_names == ["outer_race", "normal"]  # classes.txt order
    assert len(ds.recordings) == 20 and ds.fs == 12000  # most files are 12 kHz
    assert {r.group for r in ds.recordings} == {"pump-a", "pump-b"}
    flac = next(r for r in ds.recordings if r.rid == "normal/pump-a/r.flac")
    mat = next(r for r in ds.recordings if r.rid == "normal/pump-a/r.mat")
    assert flac.meta["original_fs"] == 24000 and flac.samples == 24000 and mat.meta["original_fs"] == 48000
    assert mat.samples == 24000 and flac.signal.dtype == np.float32
    assert ds.normal_label == "normal"


def test_manifest_with_rates_channels_scale_and_spans(folder, tmp_path):
    rows = ["path,label,group,fs,channels,scale,sensitivity,start_s,stop_s"]
    for cond in CONDITIONS:
        for machine in ("pump-a", "pump-b"):
            rel = os.path.relpath(folder / cond / machine, tmp_path)
            rows.append(f"{rel}/r.npy,{cond},{machine},12000,,2,,0.5,1.5")
            rows.append(f"{rel}/r.csv,{cond},{machine},,accel,,100,,")
            rows.append(f"{rel}/r.mat,{cond},{machine},,bearing.gs,,,,")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DrsnEdgeError, match="outside the manifest's folder"):
        load_dataset(DataSpec("manifest", {"root": str(tmp_path / "m.csv")}, 12000.0))
    ds = load_dataset(DataSpec("manifest", {"root": str(tmp_path / "m.csv"), "allow_outside": True}, 12000.0))
    assert ds.class_names == ["normal", "outer_race"] and len(ds.recordings) == 12
    npy = next(r for r in ds.recordings if r.rid.endswith("pump-a/r.npy") and "normal" in r.rid)
    raw = np.load(folder / "normal" / "pump-a" / "r.npy")[0]
    assert npy.samples == 12000 and np.allclose(npy.signal[0], 2 * raw[6000:18000])  # scale 2, 0.5..1.5 s
    csv = next(r for r in ds.recordings if r.rid.endswith("pump-a/r.csv") and "normal" in r.rid)
    raw = np.loadtxt(folder / "normal" / "pump-a" / "r.csv", delimiter=",", skiprows=1)[:, 1]
    assert np.allclose(csv.signal[0], 10 * raw, atol=1e-4)  # 100 mV/g: volts x 10 = g


def test_bad_files_refused_naming_the_file(folder, tmp_path, capsys):
    import shutil

    root = tmp_path / "d"
    shutil.copytree(folder, root)
    (root / "normal" / "pump-a" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    np.save(root / "normal" / "pump-b" / "dead.npy", np.zeros((1, 30000), np.float32))
    out = tmp_path / "m.safetensors"
    assert_one_line_error(capsys, ["train", "--data", str(root), "--fs", "12000", "--out", str(out), "--epochs", "1"],
                          "normal/pump-a/broken.wav: cannot read audio")
    assert not out.exists()
    code, text, err = run_cli(capsys, ["data", "inspect", str(root), "--fs", "12000"])
    assert code == 2 and "error: normal/pump-a/broken.wav: cannot read audio" in text
    assert "error: normal/pump-b/dead.npy: channel 0 is constant" in text
    assert "outer_race" in text and "pump-a" in text


def test_inspect_reports_problems_per_file(tmp_path, capsys):
    for cond in CONDITIONS:
        (tmp_path / cond).mkdir()
    x = sig("normal", 12000, 3.0, 1)
    x[100:140] = x.max()  # clipped
    np.save(tmp_path / "normal" / "clip.npy", x[None])
    y = sig("outer_race", 12000, 3.0, 2)
    y[50] = np.nan
    np.save(tmp_path / "outer_race" / "nan.npy", y[None])
    np.save(tmp_path / "outer_race" / "short.npy", y[None, :1000])
    code, text, _ = run_cli(capsys, ["data", "inspect", str(tmp_path), "--fs", "12000", "--json", str(tmp_path / "i.json")])
    assert code == 2
    assert "warning: normal/clip.npy: channel 0: 41 samples stuck at" in text
    assert "error: outer_race/nan.npy: 1 NaN / Inf samples" in text
    assert "error: outer_race/short.npy: too short: 0.0833 s; one window needs 0.171 s" in text
    rep = json.loads((tmp_path / "i.json").read_text())
    assert {p["file"] for p in rep["problems"]} == {"normal/clip.npy", "outer_race/nan.npy", "outer_race/short.npy"}
    os.remove(tmp_path / "outer_race" / "nan.npy")
    os.remove(tmp_path / "outer_race" / "short.npy")
    np.save(tmp_path / "outer_race" / "ok.npy", sig("outer_race", 12000, 3.0, 3)[None])
    assert run_cli(capsys, ["data", "inspect", str(tmp_path), "--fs", "12000"])[0] == 0  # a warning only
    assert run_cli(capsys, ["data", "inspect", str(tmp_path), "--fs", "12000", "--strict"])[0] == 2


def _leak_free(ds, key, side=lambda split: split):
    """Each recording (key: rid) or group is on one side only (side: which splits count as the same side),
    except declared time-split fallbacks, whose spans must not overlap."""
    where = {}
    for i, rec in enumerate(ds.recordings):
        if rec.rid in ds.plan.fallback:
            spans = sorted(s for v in ds.plan.spans[i].values() for s in v)
            assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # disjoint in time
            continue
        for split in ds.plan.spans[i]:
            where.setdefault(key(rec), set()).add(side(split))
    assert all(len(s) == 1 for s in where.values()), where


def held_out(split):
    return split == "test"  # validation recordings come from the training groups


@pytest.mark.parametrize("split", [SplitSpec("recording"), SplitSpec("group", test_groups=("m1",)),
                                   SplitSpec("group", test_groups=("m0", "m3"))])
def test_no_recording_or_group_in_two_splits(split):
    ds = load_dataset(DataSpec("sim", {"duration": 2.0, "recordings_per_class": 4}, split=split))
    _leak_free(ds, lambda r: r.rid)
    if split.kind == "group":
        _leak_free(ds, lambda r: r.group, held_out)
        assert {ds.recordings[i].group for i in ds.plan.recordings_in("test")} == set(split.test_groups)
    for s in ("train", "val", "test"):
        assert ds.plan.recordings_in(s), s


def test_cwru_single_normal_recording_is_a_declared_fallback(cwru_dir):
    ds = load_dataset(DataSpec("cwru", {"root": str(cwru_dir)}, split=SplitSpec("group", test_groups=("0hp",))))
    assert ds.plan.fallback == ["97.mat"] and "class 'normal'" in ds.plan.notes[0]
    _leak_free(ds, lambda r: r.group, held_out)
    ds3 = load_dataset(DataSpec("cwru", {"root": str(cwru_dir)}, split=SplitSpec("group", test_groups=("3hp",))))
    assert not ds3.plan.fallback and "normal" not in {ds3.class_names[ds3.recordings[i].label]
                                                      for i in ds3.plan.recordings_in("test")}


def test_split_is_stored_and_rebuilt_by_evaluate(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    code, _, err = run_cli(capsys, ["train", "--sim-duration", "2", "--sim-recordings", "3", "--split", "recording",
                                    "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "8", "--quiet", "--out", str(out)])
    assert code == 0, err
    md = read_description(out)
    assert md.data["split"]["kind"] == "recording" and md.metrics["split"] == "recording"
    code, text, _ = run_cli(capsys, ["evaluate", str(out), "--snr", "clean", "--json", str(tmp_path / "r.json")])
    rep = json.loads((tmp_path / "r.json").read_text())
    test_recs = {r["recording"] for r in rep["clean"]["per_recording"]}
    ds = load_dataset(DataSpec.from_dict(md.data))
    assert test_recs == {ds.recordings[i].rid for i in ds.plan.recordings_in("test")}
    assert rep["clean"]["windows"] == md.metrics["test_windows"]
    assert "balanced accuracy" in text and "per recording" in text


def test_cross_validation_by_group(tmp_path, capsys):
    out = tmp_path / "cv.safetensors"
    code, text, err = run_cli(capsys, ["train", "--sim-duration", "2", "--sim-recordings", "3", "--cv", "group",
                                       "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "8", "--quiet",
                                       "--out", str(out)])
    assert code == 0, err
    rep = json.loads((tmp_path / "cv.cv.json").read_text())
    assert [f["test_group"] for f in rep["folds"]] == ["m0", "m1", "m2"]
    assert all((tmp_path / f"cv.fold-{g}.safetensors").is_file() for g in ("m0", "m1", "m2"))
    assert rep["mean"]["balanced_accuracy"]["mean"] is not None and "mean +- std" in (tmp_path / "cv.cv.md").read_text()


def test_options_that_do_not_apply_are_errors(tmp_path, capsys):
    out = str(tmp_path / "m.safetensors")
    assert_one_line_error(capsys, ["train", "--data-dir", str(tmp_path), "--out", out], "--data-dir is the CWRU folder")
    assert_one_line_error(capsys, ["train", "--loads", "0,1", "--out", out], "--loads applies to --data cwru")
    assert_one_line_error(capsys, ["train", "--data", "sim", "--fs", "100", "--out", out],
                          "--fs applies to your own files")
    assert_one_line_error(capsys, ["train", "--data", str(tmp_path / "nope"), "--out", out], "no such folder or manifest")
    assert_one_line_error(capsys, ["train", "--split", "group", "--test-group", "m9", "--sim-duration", "1",
                                   "--out", out], "no group 'm9'")
    assert_one_line_error(capsys, ["train", "--test-group", "m0", "--split", "time", "--out", out], "needs --split group")
    assert not os.path.exists(out)


def _train_help() -> str:
    from drsn_edge.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices["train"].format_help()


def test_library_and_cli_share_defaults():
    from drsn_edge.cli.main import build_parser
    from drsn_edge.training.config import TrainConfig

    args = build_parser().parse_args(["train"])
    cfg = TrainConfig()
    assert (args.steps_per_epoch, args.batch_size, args.lr) == (cfg.steps_per_epoch, cfg.batch_size, cfg.lr)
    assert args.epochs is None and str(cfg.epochs) in build_parser().format_help() + _train_help()  # set in run
    assert args.noise == ",".join(cfg.noise.kinds) and args.snr == f"{cfg.noise.snr_low:g}:{cfg.noise.snr_high:g}"
    assert cfg.noise.enabled  # the library trains with noise, as the CLI does


def test_legacy_spec_and_paths_relative_to_the_checkpoint(tmp_path, monkeypatch):
    from drsn_edge.modelfile import read_description

    legacy = DataSpec.from_dict({"source": "cwru", "data_dir": "x/y", "label_set": "4", "channels": ["DE"], "fs": 12000.0,
                                 "split": [0.7, 0.1, 0.2], "loads": None})
    assert legacy.options == {"root": "x/y", "label_set": "4", "channels": ["DE"]} and legacy.split.kind == "time"
    monkeypatch.chdir(tmp_path)  # any working directory
    md = read_description(MODELS["cwru-wide"].path)
    assert os.path.isabs(md.data["options"]["root"])
    assert md.data["options"]["root"].endswith(os.path.join("shared", "data", "cwru", "12k_drive_end"))


def test_registered_sources_pool_with_a_plus(cwru_dir):
    spec = DataSpec("mix", {"parts": ["cwru", "sim"], "root": str(cwru_dir), "label_set": "4", "duration": 3.0},
                    split=SplitSpec("group", test_groups=("cwru/3hp",)))
    ds = load_dataset(spec, min_samples=2048)
    cwru = load_dataset(DataSpec("cwru", {"root": str(cwru_dir), "label_set": "4"}), min_samples=2048)
    assert ds.class_names == ["normal", "inner_race", "ball", "outer_race"] and ds.fs == 12000.0
    assert len(ds.recordings) == len(cwru.recordings) + 16
    groups = {r.group for r in ds.recordings}
    assert {"cwru/0hp", "cwru/3hp", "sim/m0", "sim/m3"} <= groups and all(g.split("/")[0] in ("cwru", "sim") for g in groups)
    test = {ds.recordings[i].group for i in ds.plan.recordings_in("test")}
    assert test == {"cwru/3hp"} and max(r.samples for r in ds.recordings if r.group.startswith("sim")) == 3 * 12000
    assert ds.spec.describe().startswith("cwru+sim")


def test_a_mix_refuses_what_none_of_its_parts_takes_and_differing_classes(cwru_dir, tmp_path, capsys):
    out = str(tmp_path / "m.safetensors")
    assert_one_line_error(capsys, ["train", "--data", "cwru+sim", "--out", out], "--data cwru+sim needs --data-dir")
    assert_one_line_error(capsys, ["train", "--data", "cwru+sim", "--data-dir", str(cwru_dir), "--fs", "100", "--out", out],
                          "--fs applies to none of --data cwru+sim")
    assert_one_line_error(capsys, ["train", "--data", "cwru+sim", "--data-dir", str(cwru_dir), "--sim-duration", "2",
                                   "--out", out], "choose a label set they share (--labels 4)")
    assert_one_line_error(capsys, ["train", "--data", "cwru+sim", "--data-dir", str(cwru_dir), "--channels", "FE",
                                   "--labels", "4", "--out", out], "the simulator produces one channel")
    assert not os.path.exists(out)


def test_a_manifest_or_folder_changed_in_the_same_process_is_read_again(tmp_path):
    """Builds are kept per description; a rewritten manifest or a file added to a folder is new data, not the kept
    build (a notebook or a test rewriting its data got the first build back)."""
    for i in range(3):
        np.save(tmp_path / f"r{i}.npy", sig("normal", 12000, 1.0, i)[None])
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,fs\nr0.npy,normal,12000\nr1.npy,normal,12000\n")
    spec = DataSpec("manifest", {"root": str(manifest), "unlabelled": True}, 12000.0, SplitSpec("all"))
    assert len(load_dataset(spec).recordings) == 2
    manifest.write_text("path,label,fs\nr0.npy,normal,12000\nr1.npy,normal,12000\nr2.npy,outer_race,12000\n")
    assert [r.meta["given_label"] for r in load_dataset(spec).recordings] == ["normal", "normal", "outer_race"]
    folder = tmp_path / "f"
    folder.mkdir()
    np.save(folder / "a.npy", sig("normal", 12000, 1.0, 5)[None])
    spec = DataSpec("folder", {"root": str(folder), "unlabelled": True, "file_fs": 12000.0}, 12000.0, SplitSpec("all"))
    assert len(load_dataset(spec).recordings) == 1
    np.save(folder / "b.npy", sig("normal", 12000, 1.0, 6)[None])
    assert len(load_dataset(spec).recordings) == 2
