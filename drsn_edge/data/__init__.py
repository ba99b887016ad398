"""Vibration data: sources (simulator, CWRU catalogue, your folders and manifests), splits, noise, windows.
numpy / scipy only."""

from drsn_edge.data.dataset import DataSpec, VibrationDataset, WindowSet, load_dataset
from drsn_edge.data.noise import NOISE_TYPES, add_noise, parse_noise_types, parse_snr_list, parse_snr_range
from drsn_edge.data.recording import Recording, cut_windows
from drsn_edge.data.simulator import BearingGeometry, make_sim_recordings, simulate_bearing, simulate_sequence
from drsn_edge.data.splits import SplitSpec, plan_split

__all__ = [
    "NOISE_TYPES", "BearingGeometry", "DataSpec", "Recording", "SplitSpec", "VibrationDataset", "WindowSet", "add_noise",
    "cut_windows", "load_dataset", "make_sim_recordings", "parse_noise_types", "parse_snr_list", "parse_snr_range",
    "plan_split", "simulate_bearing", "simulate_sequence",
]
