"""The device install, measured: the wheel, a fresh venv with ``pip install drsn-edge`` (base only: numpy +
onnxruntime), its size on disk, the runtime's import time, the time from start to the first decision on a file with
torch absent, and which runtime dependencies have wheels for the ARM boards the runtime targets.

Usage: python benchmarks/device_install.py [--model sim-paper] [--rounds 5].
Writes benchmarks/results/device_install.{json,md} and device_arm.md. ``--report``: the .md files from the .json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from drsn_edge.bench.machine import describe, machine_info
from drsn_edge.data.simulator import simulate_bearing

HERE = Path(__file__).parent
ROOT = HERE.parent
#: what the runtime needs on a device: the base install, and the optional outputs and readers of the [stream] extra
RUNTIME_DEPS = {"numpy": "base", "onnxruntime": "base", "tomli": "base, Python 3.10 only", "soundfile": "[stream]: WAV/FLAC",
                "scipy": "[stream]: .mat v5, resampling", "h5py": "[stream]: .mat v7.3", "paho-mqtt": "[stream]: MQTT",
                "prometheus-client": "[stream]: Prometheus", "rich": "[stream]: terminal tables"}
#: (board, pip platform tags, Python)
TARGETS = [
    ("Jetson Orin, JetPack 6 (Ubuntu 22.04, aarch64)", ["manylinux2014_aarch64", "manylinux_2_27_aarch64",
                                                        "manylinux_2_28_aarch64", "manylinux_2_31_aarch64",
                                                        "manylinux_2_34_aarch64", "manylinux_2_35_aarch64"], "3.10"),
    ("Raspberry Pi OS 12, 64-bit (aarch64)", ["manylinux2014_aarch64", "manylinux_2_27_aarch64", "manylinux_2_28_aarch64",
                                             "manylinux_2_31_aarch64", "manylinux_2_34_aarch64"], "3.11"),
    ("Raspberry Pi OS 12, 32-bit (armv7l)", ["manylinux2014_armv7l", "manylinux_2_31_armv7l", "linux_armv7l"], "3.11"),
]
WORKAROUND = {"numpy": "none on PyPI for armv7l; piwheels (Raspberry Pi OS's default index) has them, but onnxruntime "
                       "has no armv7l wheel anywhere: use the 64-bit OS",
              "onnxruntime": "no armv7l wheel on PyPI: use the 64-bit OS (aarch64), or build onnxruntime from source",
              "h5py": "only for MATLAB v7.3 files: convert them to .npy or WAV on a PC",
              "scipy": "only for .mat v5 files and resampling: stream at the model's rate, or convert the files"}


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def wheel_availability(work: Path) -> list[dict]:
    rows = []
    for board, platforms, py in TARGETS:
        for dep, role in RUNTIME_DEPS.items():
            if dep == "tomli" and py != "3.10":
                continue
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", py,
                   "--implementation", "cp", "-d", str(work / "dl"), "-q", "--disable-pip-version-check"]
            for p in platforms:
                cmd += ["--platform", p]
            out = run([*cmd, dep], timeout=300)
            got = sorted({*(work / "dl").glob(f"{dep.replace('-', '_')}-*.whl"), *(work / "dl").glob(f"{dep}-*.whl")})
            wheel = got[-1].name if out.returncode == 0 and got else None
            rows.append({"board": board, "python": py, "dependency": dep, "role": role, "wheel": wheel,
                         "error": None if wheel else (out.stderr.strip().splitlines() or ["?"])[-1][:160]})
            for f in got:
                f.unlink()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="sim-paper")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    if args.report:
        return write_md(json.loads((HERE / "results" / "device_install.json").read_text()))
    work = Path(tempfile.mkdtemp(prefix="drsn-device-"))
    res: dict = {"machine": describe(machine_info()), "python": sys.version.split()[0]}

    t0 = time.perf_counter()
    out = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "wheel"), str(ROOT)], timeout=600)
    assert out.returncode == 0, out.stderr
    wheel = next((work / "wheel").glob("drsn_edge-*.whl"))
    res["wheel"] = {"file": wheel.name, "bytes": wheel.stat().st_size, "build_s": round(time.perf_counter() - t0, 1)}

    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site_before = du(venv)
    t0 = time.perf_counter()
    out = run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], timeout=900)
    assert out.returncode == 0, out.stderr
    res["install"] = {"seconds": round(time.perf_counter() - t0, 1), "bytes": du(venv) - site_before}
    freeze = run([str(py), "-m", "pip", "freeze", "--disable-pip-version-check"]).stdout.splitlines()
    res["installed"] = sorted(line.split(" @ ")[0] for line in freeze if line.strip())
    sp = next((venv / "lib").glob("python*/site-packages"))
    venv_own = ("pip", "setuptools", "pkg_resources", "_distutils_hack")  # there before the install
    res["install"]["per_package_bytes"] = {d.name: du(d) for d in sorted(sp.iterdir())
                                           if d.is_dir() and du(d) > 1e6 and d.name not in venv_own}
    torch_absent = run([str(py), "-c", "import torch"]).returncode != 0
    res["torch_absent"] = torch_absent

    model = work / "model.onnx"
    run([sys.executable, "-m", "drsn_edge", "export", args.model, "-o", str(model)], check=True)
    np.save(work / "r.npy", simulate_bearing("inner_race", duration=10.0, seed=1).astype(np.float32))
    imports, first = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        run([str(py), "-c", "import drsn_edge.runtime"], check=True, cwd=work)
        imports.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(venv / "bin" / "drsn-edge"), "stream", str(model), str(work / "r.npy"), "--fs",
                                 "12000", "--jsonl", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=work)
        for line in proc.stdout:
            if '"type":"window"' in line.replace(" ", ""):
                first.append(time.perf_counter() - t0)
                break
        proc.communicate(timeout=120)
        assert proc.returncode in (0, 1), proc.returncode
    res["import_s"] = {"median": float(np.median(imports)), "min": min(imports), "max": max(imports),
                       "what": "python -c 'import drsn_edge.runtime' (interpreter start included)"}
    res["first_decision_s"] = {"median": float(np.median(first)), "min": min(first), "max": max(first),
                               "what": "drsn-edge stream model.onnx r.npy: process start to the first window record"}
    res["arm"] = wheel_availability(work)
    shutil.rmtree(work / "venv", ignore_errors=True)
    (HERE / "results" / "device_install.json").write_text(json.dumps(res, indent=1))
    write_md(res)


def write_md(res: dict) -> None:
    mib = 1 << 20
    lines = ["# The device install", "",
             f"A fresh venv, `pip install {res['wheel']['file']}` (the base install: "
             f"{', '.join(p for p in res['installed'])}); torch absent: {'yes' if res['torch_absent'] else 'NO'}. "
             "Command: `python benchmarks/device_install.py` (or `make wheel` for the wheel alone).", "",
             "| | |", "|---|---|",
             f"| wheel | {res['wheel']['bytes'] / mib:.2f} MiB (the zoo's two models included) |",
             f"| installed size (venv growth) | {res['install']['bytes'] / mib:.0f} MiB: "
             + ", ".join(f"{k} {v / mib:.0f}" for k, v in res["install"]["per_package_bytes"].items()) + " |",
             f"| import drsn_edge.runtime | {res['import_s']['median']:.2f} s [{res['import_s']['min']:.2f}-"
             f"{res['import_s']['max']:.2f}] (interpreter start included) |",
             f"| start to first decision | {res['first_decision_s']['median']:.2f} s [{res['first_decision_s']['min']:.2f}-"
             f"{res['first_decision_s']['max']:.2f}] (`drsn-edge stream model.onnx r.npy`: process start to the first "
             "window record) |", "", f"Machine: {res['machine']}"]
    (HERE / "results" / "device_install.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    lines = ["# Wheels for the ARM boards", "",
             "The runtime's dependencies on PyPI for each board (`pip download --only-binary=:all: --platform ...`, "
             "written by `python benchmarks/device_install.py`):", "",
             "| board | Python | dependency | role | wheel |", "|---|---|---|---|---|"]
    for r in res["arm"]:
        got = f"`{r['wheel']}`" if r["wheel"] else f"**none**: {WORKAROUND.get(r['dependency'], r['error'])}"
        lines.append(f"| {r['board']} | {r['python']} | {r['dependency']} | {r['role']} | {got} |")
    (HERE / "results" / "device_arm.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    main()
