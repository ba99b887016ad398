"""Untrusted files never take the process down: the inputs that crashed or confused a parser (kept as regression
seeds) and a short fuzzing run of every parser (the long run is benchmarks/fuzz.py, results in
benchmarks/results/fuzz.md)."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).parent / "fuzz_seeds"
sys.path.insert(0, str(REPO / "benchmarks"))
import fuzz  # noqa: E402


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    w = tmp_path_factory.mktemp("fuzz")
    fuzz.prepare(w)
    return w


@pytest.mark.parametrize("seed", sorted(p.name for p in SEEDS.iterdir()))
def test_regression_seed_is_a_one_line_refusal(seed, work):
    fmt = {".flac": "flac", ".mat": "mat", ".csv": "csv", ".onnx": "model"}[Path(seed).suffix]
    outcome, detail = fuzz.run_case(fmt, (SEEDS / seed).read_bytes(), work)
    assert outcome == "ok" and detail.startswith("refused: "), (outcome, detail)


@pytest.mark.parametrize("fmt,cases", [("wav", 60), ("flac", 60), ("npy", 60), ("csv", 40), ("mat", 60), ("model", 15),
                                       ("stdin", 8)])
def test_short_fuzz_run(fmt, cases, work):
    r = fuzz.fuzz(fmt, cases, seed=7, work=work, log=lambda s: None)
    assert r["outcomes"] == {"ok": cases}, r["failures"]


def test_importing_the_fuzzer_leaves_thread_settings_alone():
    """The fuzzer's parent limits BLAS / OpenMP threads before it forks; a test that imports it must not inherit
    that: torch then trained the suite's stream model on one thread, and an alarm test failed by test order."""
    import subprocess

    code = ("import os, sys; os.environ.pop('OMP_NUM_THREADS', None); os.environ.pop('OPENBLAS_NUM_THREADS', None); "
            f"sys.path.insert(0, {str(REPO / 'benchmarks')!r}); import fuzz; "
            "print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('OPENBLAS_NUM_THREADS'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["None", "None"]
