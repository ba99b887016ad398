"""The one reader of manifests and folders: the same columns and rules for training, evaluation and stream."""

from __future__ import annotations

import numpy as np
import pytest

from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.readers import is_manifest, read_manifest, scale_factor, split_channels, walk_recordings
from drsn_edge.runtime.app import expand_inputs
from tests.cli_helpers import assert_one_line_error


def _write(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.csv").write_text(text)
    return folder / "m.csv"


def test_rows_are_read_and_checked(tmp_path):
    m = _write(tmp_path, "path,label,group,fs,channels,scale\nrec/a.npy,normal,p1,12000,a;b|c,2\n\nrec/b.wav,ball,,,,\n")
    rows = read_manifest(m).rows
    assert [r.rel for r in rows] == ["rec/a.npy", "rec/b.wav"] and rows[0].path == (tmp_path / "rec" / "a.npy").resolve()
    assert rows[0].channels == ("a", "b", "c") and rows[0].fs == 12000.0 and rows[0].scale == 2.0
    assert rows[1].group is None and rows[1].fs is None and "line 4" in rows[1].where  # a blank line is skipped
    assert is_manifest(m) and split_channels("x, y") == ("x", "y")


@pytest.mark.parametrize("text, needle", [
    ("path,label,sensitvity\na.npy,x,100\n", "unknown manifest column 'sensitvity': did you mean 'sensitivity'?"),
    ("file,label\na.npy,x\n", "needs a 'path' column"),
    ("path,label\n,x\n", "line 2: empty path"),
    ("path,label,fs\na.npy,x," + "9" * 20 + "kHz\n", "is not a number"),
    ("path,label,fs\na.npy,x,inf\n", "finite"),
    ("path,label\n", "no rows"),
])
def test_bad_manifests_are_refused_in_one_line(tmp_path, text, needle):
    with pytest.raises(DrsnEdgeError, match=needle) as exc:
        read_manifest(_write(tmp_path, text))
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 300


def test_training_and_stream_read_a_manifest_by_the_same_rules(tmp_path, stream_model, capsys):
    """Before, stream ignored unknown columns silently and skipped rows without a path, where training refused both."""
    np.save(tmp_path / "a.npy", np.zeros((1, 30000), np.float32))
    bad = _write(tmp_path, "path,label,scael\na.npy,normal,2\n")
    for argv in (["train", "--data", str(bad)], ["stream", str(stream_model[1]), str(bad)]):
        assert_one_line_error(capsys, argv, "unknown manifest column 'scael': did you mean 'scale'?")
    empty = _write(tmp_path, "path,label\n,normal\n")
    for argv in (["train", "--data", str(empty)], ["stream", str(stream_model[1]), str(empty)]):
        assert_one_line_error(capsys, argv, "line 2: empty path")
    extra = read_manifest(_write(tmp_path, "path,label,sha256,load_lbs\na.npy,normal,abc,50\n"))
    assert extra.ignored == ["sha256", "load_lbs"] and "sha256, load_lbs are not drsn-edge columns" in extra.note()
    good = _write(tmp_path, "path,label,fs\na.npy,normal,12000\n")
    assert expand_inputs([str(good)]) == [(str((tmp_path / "a.npy").resolve()), "a", {"fs_stated": 12000.0})]
    cut = _write(tmp_path, "path,label,fs,start_s\na.npy,normal,12000,1\n")
    assert_one_line_error(capsys, ["stream", str(stream_model[1]), str(cut)], "start_s is for training")


def test_folders_are_walked_once_the_same_way(tmp_path):
    for rel in ("normal/p1/a.npy", "normal/.hidden/b.npy", "ball/c.npy", "ball/notes.md", ".cache/d.npy"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".npy"):
            np.save(tmp_path / rel, np.random.default_rng(0).standard_normal(4096).astype(np.float32))
        else:
            (tmp_path / rel).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in walk_recordings(tmp_path)] == ["ball/c.npy", "normal/p1/a.npy"]
    assert [f for f, _, _ in expand_inputs([str(tmp_path)])] == [str(tmp_path / "ball/c.npy"), str(tmp_path / "normal/p1/a.npy")]
    ds = load_dataset(DataSpec("folder", {"root": str(tmp_path), "file_fs": 12000.0}, 12000.0))
    assert sorted(r.rid for r in ds.recordings) == ["ball/c.npy", "normal/p1/a.npy"]


def test_one_rule_for_scale_and_sensitivity():
    assert scale_factor() == 1.0 and scale_factor(scale=2.0) == 2.0 and scale_factor(sensitivity=100.0) == 10.0
    for kw, needle in (({"scale": 1.0, "sensitivity": 100.0}, "not both"), ({"scale": 0.0}, "positive"),
                       ({"sensitivity": float("nan")}, "positive")):
        with pytest.raises(DrsnEdgeError, match=needle):
            scale_factor(**kw)
