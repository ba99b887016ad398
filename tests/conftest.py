from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# optimized ONNX graphs cached by streaming sessions: not in the user's ~/.cache during tests
os.environ.setdefault("DRSN_EDGE_CACHE", tempfile.mkdtemp(prefix="drsn-edge-cache-"))

CWRU_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cwru" / "12k_drive_end"


@pytest.fixture(scope="session")
def cwru_dir() -> Path:
    if not CWRU_DIR.is_dir():
        pytest.skip(f"CWRU data not found at {CWRU_DIR} (see README: Using CWRU data)")
    return CWRU_DIR.resolve()


@pytest.fixture(scope="session")
def sim_checkpoint(tmp_path_factory) -> Path:
    """A small DRSN-CW trained briefly on the simulator (shared by export and runtime tests)."""
    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.training.config import TrainConfig
    from drsn_edge.training.noise_schedule import NoiseSchedule
    from drsn_edge.training.pipeline import train_checkpoint

    out = tmp_path_factory.mktemp("sim_ckpt") / "sim-cw.safetensors"
    # one training pass (no refit) keeps the shared fixtures quick; the refit has its own tests (test_refit.py)
    cfg = TrainConfig(epochs=3, steps_per_epoch=15, batch_size=32, seed=0, refit=False,
                      noise=NoiseSchedule(kinds=("gaussian",), snr_low=-2, snr_high=10, clean_fraction=0.2))
    train_checkpoint(DataSpec("sim", {"duration": 4.0, "recordings_per_class": 2}), "drsn-cw", "paper", cfg,
                     out, progress=False, log=lambda s: None)
    return out


@pytest.fixture(scope="session")
def stream_model(tmp_path_factory) -> tuple[Path, Path]:
    """A simulator DRSN-CW good enough to stream (like the demo's, shorter): (checkpoint, exported ONNX)."""
    from drsn_edge.data.dataset import DataSpec
    from drsn_edge.export.onnx_export import export_onnx
    from drsn_edge.training.config import TrainConfig
    from drsn_edge.training.noise_schedule import NoiseSchedule
    from drsn_edge.training.pipeline import train_checkpoint

    d = tmp_path_factory.mktemp("stream_model")
    cfg = TrainConfig(epochs=8, steps_per_epoch=60, seed=0, refit=False,
                      noise=NoiseSchedule(kinds=("gaussian", "pink"), snr_low=-6, snr_high=10, clean_fraction=0.1))
    train_checkpoint(DataSpec("sim", {"duration": 5.0, "recordings_per_class": 12}), "drsn-cw", "paper", cfg,
                     d / "m.safetensors", progress=False, log=lambda s: None)
    export_onnx(d / "m.safetensors", d / "m.onnx")
    return d / "m.safetensors", d / "m.onnx"
