"""One reader per file format: the same samples from every format, blocks, rates, channel picks, clear errors."""

import numpy as np
import pytest
import scipy.io as sio
import soundfile as sf

from drsn_edge import DrsnEdgeError
from drsn_edge.readers import ReadOptions, open_reader

FS = 12000
X = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32) * 0.5


def read(path, **opts):
    with open_reader(path, ReadOptions(**opts)) as r:
        return r.read(), r.info


def test_wav_flac_ogg(tmp_path):
    sf.write(tmp_path / "a.wav", X.T, FS, subtype="FLOAT")
    y, info = read(tmp_path / "a.wav")
    assert info.fs == FS and info.channels == 2 and info.frames == 5000 and np.array_equal(y, X)
    sf.write(tmp_path / "a.flac", X.T / 4, 25600, subtype="PCM_24")
    y, info = read(tmp_path / "a.flac", channels=("1",))
    assert info.fs == 25600 and y.shape == (1, 5000) and np.abs(y[0] - X[1] / 4).max() < 1e-5
    sf.write(tmp_path / "a.ogg", X.T, 48000)
    y, info = read(tmp_path / "a.ogg")
    assert info.fs == 48000 and y.shape == (2, 5000)
    with pytest.raises(DrsnEdgeError, match=r"a\.wav: sampled at 12000 Hz, not 48000 Hz as given"):
        read(tmp_path / "a.wav", fs=48000)


def test_blocks_are_bounded_and_equal_the_whole(tmp_path):
    np.save(tmp_path / "a.npy", X)
    with open_reader(tmp_path / "a.npy", ReadOptions(fs=FS)) as r:
        blocks = [b.data for b in r.blocks(777)]
    assert max(b.shape[1] for b in blocks) == 777 and np.array_equal(np.concatenate(blocks, 1), X)


def test_npy_layout_convention(tmp_path):
    np.save(tmp_path / "cf.npy", X)
    np.save(tmp_path / "sf.npy", X.T)
    np.save(tmp_path / "v.npy", X[0])
    assert np.array_equal(read(tmp_path / "cf.npy", fs=FS)[0], X)
    assert np.array_equal(read(tmp_path / "v.npy", fs=FS)[0], X[:1])
    with pytest.raises(DrsnEdgeError, match=r"shape \(5000, 2\) looks like \(samples, channels\)"):
        read(tmp_path / "sf.npy", fs=FS)
    assert np.array_equal(read(tmp_path / "sf.npy", fs=FS, layout="samples-first")[0], X)
    with pytest.raises(DrsnEdgeError, match="holds no sample rate"):
        read(tmp_path / "cf.npy")


def test_csv_header_time_column_gaps_and_columns(tmp_path):
    t = np.arange(5000) / FS
    t[3000:] += 0.25  # a quarter second missing
    np.savetxt(tmp_path / "a.csv", np.c_[t, X.T], delimiter=",", header="time_s,accel_x,accel_y", comments="")
    with open_reader(tmp_path / "a.csv") as r:
        assert r.info.fs == FS and r.info.channel_names == ["accel_x", "accel_y"]
        assert any("time_s" in n for n in r.info.notes)
        blocks = list(r.blocks(1000))
    assert [b.gap_before for b in blocks].count(True) == 1 and blocks[3].gap_before and blocks[3].data.shape[1] == 0 or \
        sum(b.data.shape[1] for b in blocks) == 5000
    assert np.allclose(np.concatenate([b.data for b in blocks], 1), X, atol=1e-6)
    y, _ = read(tmp_path / "a.csv", channels=("accel_y",))
    assert np.allclose(y, X[1:], atol=1e-6)
    # semicolons, no header, no time: the rate must be given
    np.savetxt(tmp_path / "b.csv", X.T, delimiter=";")
    y, info = read(tmp_path / "b.csv", fs=FS)
    assert info.channel_names == ["0", "1"] and np.allclose(y, X, atol=1e-6)


def test_csv_time_like_column_is_not_streamed_as_a_sensor(tmp_path):
    np.savetxt(tmp_path / "a.csv", np.c_[np.arange(5000) / FS, X[0]], delimiter=",")
    with pytest.raises(DrsnEdgeError, match=r"column '0' increases steadily like time stamps; use it as time"):
        read(tmp_path / "a.csv", fs=FS)
    y, info = read(tmp_path / "a.csv", time_column="0")
    assert info.fs == FS and info.channels == 1


@pytest.mark.parametrize("content,needle", [
    ("time,a\n0,1\nnan,2\n0.2,3\n", "time stamp is not a number"),
    ("time,a\n0,1\n0.1,x\n0.2,3\n", "row 3, column 2: 'x' is not a number"),
    ("time,a\n0,1\n0.1\n0.2,3\n", "row 3 has 1 columns"),
    ("time,a\n0.2,1\n0.1,2\n0.3,3\n", "do not increase"),
])
def test_csv_errors_name_the_row(tmp_path, content, needle):
    (tmp_path / "bad.csv").write_text(content)
    with pytest.raises(DrsnEdgeError, match=needle) as e:
        read(tmp_path / "bad.csv")
    assert "bad.csv" in str(e.value) and "\n" not in str(e.value)


def test_mat_nested_struct_rate_and_cwru_rule(tmp_path):
    sio.savemat(tmp_path / "mfpt.mat", {"bearing": {"gs": X[0][:, None], "sr": 48828.0, "rate": 25.0, "load": 270}})
    y, info = read(tmp_path / "mfpt.mat")
    assert info.fs == 48828.0 and info.channel_names == ["bearing.gs"] and np.allclose(y, X[:1])
    y, info = read(tmp_path / "mfpt.mat", channels=("bearing.gs",), rate_variable="bearing.sr")
    assert info.fs == 48828.0
    sio.savemat(tmp_path / "105.mat", {"X105_DE_time": X[0][:, None], "X105_FE_time": X[1][:, None], "X105RPM": 1797.0})
    y, info = read(tmp_path / "105.mat")
    # named by sensor, as --channels and the CWRU source name them (X105_DE_time before: a stream of a CWRU file was
    # never on the machine of a model trained on DE)
    assert info.fs == 12000 and info.channel_names == ["DE"] and np.allclose(y, X[:1])
    y, info = read(tmp_path / "105.mat", channels=("DE", "FE"))
    assert np.allclose(y, X) and info.channel_names == ["DE", "FE"]
    sio.savemat(tmp_path / "two.mat", {"a": X[0], "b": X[1], "fs": 1000.0})
    with pytest.raises(DrsnEdgeError, match=r"several signal variables \(a, b\)"):
        read(tmp_path / "two.mat")
    y, info = read(tmp_path / "two.mat", channels=("b", "a"))
    assert info.fs == 1000 and np.allclose(y, X[::-1])


def test_mat_compressed_and_v73(tmp_path):
    h5py = pytest.importorskip("h5py")
    sio.savemat(tmp_path / "c.mat", {"sig": X[0][:, None], "fs": 20000.0}, do_compression=True)
    y, info = read(tmp_path / "c.mat")
    assert info.fs == 20000 and np.allclose(y, X[:1])
    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as f:  # what MATLAB's save -v7.3 writes
        g = f.create_group("rec")
        g.create_dataset("acc", data=X.T.T.copy())  # MATLAB (5000, 2) is stored as HDF5 (2, 5000)
        g.create_dataset("fs", data=np.array([[25600.0]]))
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Nov 26 2026 HDF5 schema 1.00 .")
    with open_reader(path, ReadOptions(layout="samples-first")) as r:
        assert r.info.fs == 25600 and r.info.channel_names == ["rec.acc[0]", "rec.acc[1]"]
        blocks = [b.data for b in r.blocks(999)]
    assert np.allclose(np.concatenate(blocks, 1), X)


@pytest.mark.parametrize("name,data,needle", [
    ("bad.wav", b"RIFF\x00\x00\x00\x00WAVEjunk", "cannot read audio"),
    ("bad.flac", b"fLaC" + bytes(40), "cannot read audio"),
    ("bad.npy", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (10,", "not a readable NumPy"),
    ("bad.mat", b"MATLAB 5.0 MAT-file" + bytes(200), "MAT"),
    ("bad.csv", b"\xff\xfe\x00garbage", r"not a text \(CSV\) file"),
    ("empty.csv", b"", "no data rows"),
])
def test_damaged_files_are_one_line_errors(tmp_path, name, data, needle):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DrsnEdgeError, match=needle) as e:
        read(tmp_path / name, fs=FS)
    assert str(tmp_path / name) in str(e.value) and "\n" not in str(e.value)


def test_mat_damaged_sizes_never_reach_scipy(tmp_path):
    """A numeric array whose data is shorter than its dimensions crashed SciPy's reader (SIGSEGV)."""
    import struct

    sio.savemat(tmp_path / "ok.mat", {"sig": X[0][:, None]})
    data = bytearray((tmp_path / "ok.mat").read_bytes())
    # the real part's tag of the first variable: 128 header + 8 matrix tag + 16 flags + 16 dims + 8 name
    pos = 128 + 8 + 16 + 16 + 8
    dtype, nbytes = struct.unpack_from("<II", data, pos)
    assert dtype == 7 and nbytes == 5000 * 4  # miSINGLE
    struct.pack_into("<I", data, pos, 25097)  # a data type that does not exist
    (tmp_path / "bad.mat").write_bytes(bytes(data))
    with pytest.raises(DrsnEdgeError, match="damaged MATLAB file: real part at byte 176"):
        read(tmp_path / "bad.mat", fs=FS)


def test_unknown_suffix_and_missing_file(tmp_path):
    (tmp_path / "x.xyz").write_text("1")
    with pytest.raises(DrsnEdgeError, match="unknown file type '.xyz'"):
        open_reader(tmp_path / "x.xyz")
    with pytest.raises(DrsnEdgeError, match="input file not found"):
        open_reader(tmp_path / "none.wav")
