import numpy as np
import pytest
from scipy.io import savemat

from drsn_edge import DrsnEdgeError
from drsn_edge.data.sources.cwru import LABEL_SETS, load_cwru


def test_loads_ten_classes_resampled(cwru_dir):
    recs, names = load_cwru(cwru_dir, "10")
    assert names == LABEL_SETS["10"] and len(recs) == 37
    normal = next(r for r in recs if r.meta["file"] == "97.mat")
    assert normal.meta["original_fs"] == 48000 and normal.fs == 12000
    assert normal.signal.shape[-1] == pytest.approx(243938 / 4, abs=2)
    ir = next(r for r in recs if r.meta["file"] == "105.mat")
    assert names[ir.label] == "inner_race_0.007" and ir.meta["load_hp"] == 0 and ir.meta["rpm"] == 1797
    # resampling kept the level (in g): the normal signal's RMS survives decimation
    assert 0.03 < float(np.sqrt(np.mean(normal.signal**2))) < 0.2


def test_four_classes_and_fan_end(cwru_dir):
    recs, names = load_cwru(cwru_dir, "4", channels=("DE", "FE"), loads=(0,))
    assert names == ["normal", "inner_race", "ball", "outer_race"]
    assert len(recs) == 10 and all(r.signal.shape[0] == 2 for r in recs)


def test_base_channel_missing_in_97(cwru_dir):
    with pytest.raises(DrsnEdgeError, match=r"97\.mat: no BA channel"):
        load_cwru(cwru_dir, "10", channels=("BA",))


def test_missing_folder(tmp_path):
    with pytest.raises(DrsnEdgeError, match="not found"):
        load_cwru(tmp_path / "nope")


def test_mat_without_drive_end(tmp_path):
    savemat(tmp_path / "105.mat", {"X105_FE_time": np.zeros((100, 1))})
    with pytest.raises(DrsnEdgeError, match=r"105\.mat: no DE channel"):
        load_cwru(tmp_path, "4")


def test_corrupt_mat(tmp_path):
    (tmp_path / "105.mat").write_bytes(b"not a mat file at all")
    with pytest.raises(DrsnEdgeError, match="105.mat: not a MATLAB v5 or v7.3 file"):
        load_cwru(tmp_path, "4")
