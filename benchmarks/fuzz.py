"""Byte-mutation fuzzing of every parser a user's file meets: WAV, FLAC, NPY, CSV, MAT (the readers), raw stdin (the
stream CLI) and model files (ONNX with drsn-edge metadata).

Each mutated input runs in a forked child with a time and memory limit and ends in one of:
``ok`` (read, or refused with a one-line DrsnEdgeError), ``internal`` (any other exception: a message users should
never see), ``crash`` (the process died on a signal), ``hang`` (over the time limit), ``multiline`` (a refusal whose
message is not one line). Every outcome but ``ok`` is a bug; failing inputs are saved for regression tests.

Two more campaigns reach what byte mutation does not:

- ``--campaign signals``: ``drsn-edge stream`` on each kind of input (npy, wav, flac, csv, mat, stdin, tcp) stopped by
  SIGINT or SIGTERM at a random instant, from the moment the process has its handlers (before that the interpreter is
  still starting, and no program can catch a signal) through start-up, model loading and streaming. ``ok``: the run
  ended on its own terms, its last JSON line is a summary a strict parser accepts, and the summary's exit code is the
  process's; ``crash`` (died on a signal), ``hang``, ``no_summary``, ``mismatch`` are bugs.
- ``--campaign options``: ``stream`` with random values for every numeric option, the bearing's numbers and the
  shaft speed among them (inf, nan, 1e300, negative, zero,
  huge integers, words...), each in a forked child: ``ok`` is a run, or a refusal with exit 2 and one error line;
  ``internal`` (exit 70), ``crash``, ``hang`` and ``multiline`` are bugs.

Usage: python benchmarks/fuzz.py [--cases 10000] [--formats wav,flac,npy,csv,mat,stdin,model] [--save DIR]
       python benchmarks/fuzz.py --campaign signals --cases 500 [--formats npy,wav,flac,csv,mat,stdin,tcp]
       python benchmarks/fuzz.py --campaign options --cases 10000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # the fuzzing parent forks: no BLAS thread pool in it (not set when a test imports this)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

FORMATS = ("wav", "flac", "npy", "csv", "mat", "stdin", "model")
TIME_LIMIT_S = 20
MEMORY_LIMIT = 3 << 30
INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


# ---- seed inputs: small valid files of each kind ---------------------------------------------------------------
def seeds(fmt: str, work: Path) -> list[bytes]:
    import scipy.io as sio
    import soundfile as sf

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 3000)) * 0.3).astype(np.float32)
    out = []
    if fmt in ("wav", "flac"):
        for sub in (("FLOAT", "PCM_16") if fmt == "wav" else ("PCM_16", "PCM_24")):
            b = io.BytesIO()
            sf.write(b, x.T, 12000, subtype=sub, format=fmt.upper())
            out.append(b.getvalue())
    elif fmt == "npy":
        for a in (x, x[0], x.astype(np.int16), np.asfortranarray(x)):
            b = io.BytesIO()
            np.save(b, a)
            out.append(b.getvalue())
    elif fmt == "csv":
        t = np.arange(3000) / 12000
        out.append(("time_s,ax,ay\n" + "\n".join(f"{a:.6f},{b:.5f},{c:.5f}" for a, b, c in zip(t, *x))).encode())
        out.append(("\n".join(f"{b:.5f};{c:.5f}" for b, c in zip(*x))).encode())
    elif fmt == "mat":
        for comp in (False, True):
            b = io.BytesIO()
            sio.savemat(b, {"X105_DE_time": x[0][:, None].astype(np.float64), "X105RPM": 1797.0,
                            "bearing": {"gs": x[1][:, None], "sr": 12000.0}, "note": "text", "c": [[1, 2], [3]]},
                        do_compression=comp)
            out.append(b.getvalue())
    elif fmt == "stdin":
        out.append(x[0].astype("<f4").tobytes())
        out.append((x[0] * 8000).astype("<i2").tobytes())
    elif fmt == "model":
        out.append((work / "seed.onnx").read_bytes())
    return out


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 6))):
        if not b:
            b = bytearray(rng.bytes(int(rng.integers(1, 64))))
        head = rng.random() < 0.7 and len(b) > 8
        pos = int(rng.integers(min(len(b), 600) if head else len(b)))
        op = int(rng.integers(8))
        if op == 0:
            b[pos] ^= 1 << int(rng.integers(8))
        elif op == 1:
            b[pos] = int(rng.integers(256))
        elif op == 2:
            v = int(rng.choice(INTERESTING)) if rng.random() < 0.7 else int(rng.integers(2**32))
            b[pos : pos + 4] = v.to_bytes(4, "little" if rng.random() < 0.8 else "big")
        elif op == 3:
            del b[pos : pos + int(rng.integers(1, 64))]
        elif op == 4:
            b[pos:pos] = rng.bytes(int(rng.integers(1, 32)))
        elif op == 5:
            n = int(rng.integers(1, 128))
            b[pos:pos] = b[pos : pos + n]
        elif op == 6:
            b = b[: pos + 1]
        else:
            b[pos : pos + 8] = int(rng.integers(2**63)).to_bytes(8, "little")
    return bytes(b)


# ---- what each kind of input goes through ----------------------------------------------------------------------
def target(fmt: str, path: Path, work: Path) -> str:
    """Run the parser on ``path``; return "ok" or raise."""
    if fmt in ("wav", "flac", "npy", "csv", "mat"):
        from drsn_edge.readers import ReadOptions, open_reader

        opts = ReadOptions(fs=12000.0) if fmt in ("npy",) or (fmt == "csv" and b"time" not in path.read_bytes()[:8]) \
            else ReadOptions()
        with open_reader(path, opts) as r:
            for _ in r.blocks(1024):
                pass
        return "ok"
    if fmt == "stdin":
        from drsn_edge.cli.main import main

        fd = os.open(path, os.O_RDONLY)
        os.dup2(fd, 0)
        fmt_flag = "s16le" if path.stat().st_size % 4 else "f32le"
        code = main(["stream", str(work / "seed.onnx"), "-", "--fs", "12000", "--raw-channels", "1", "--format", fmt_flag,
                     "--jsonl", "none"])
        if code == 70:
            raise RuntimeError("internal error exit")
        return "ok"
    if fmt == "model":
        from drsn_edge.runtime.loader import open_model

        be, md = open_model(path)
        be.activate()
        be.infer(np.zeros((2, md.in_channels, md.window), np.float32))
        return "ok"
    raise ValueError(fmt)


def run_case(fmt: str, data: bytes, work: Path) -> tuple[str, str]:
    """(outcome, detail) of one input, in a forked child."""
    path = work / f"case.{ {'stdin': 'raw', 'model': 'onnx'}.get(fmt, fmt) }"
    path.write_bytes(data)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        signal.alarm(TIME_LIMIT_S)
        sys.stderr = open(os.devnull, "w")
        sys.stdout = open(os.devnull, "w")
        from drsn_edge.errors import DrsnEdgeError

        try:
            target(fmt, path, work)
            res = ("ok", "")
        except DrsnEdgeError as exc:
            msg = str(exc)
            res = ("multiline", msg[:300]) if "\n" in msg else ("ok", "refused: " + msg[:200])
        except BaseException as exc:  # noqa: BLE001 - that is what we look for
            res = ("internal", f"{type(exc).__name__}: {str(exc)[:200]}")
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + TIME_LIMIT_S + 5
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.002)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        return "hang", ""
    raw = b""
    while chunk := os.read(r, 65536):
        raw += chunk
    os.close(r)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("hang" if sig == signal.SIGALRM else "crash"), signal.Signals(sig).name
    return tuple(json.loads(raw)) if raw else ("crash", f"exit {os.WEXITSTATUS(status)} without a result")


def prepare(work: Path) -> None:
    """A small exported model for the stdin and model targets."""
    if (work / "seed.onnx").is_file():
        return
    import subprocess

    # in a child process: the fuzzing parent stays free of torch's threads before it forks
    subprocess.run([sys.executable, "-m", "drsn_edge", "export", "sim-paper",
                    "-o", str(work / "seed.onnx"), "--no-verify"], check=True, capture_output=True)


def preload(fmt: str) -> None:
    """Import what a target needs once, in the parent: each forked child then starts with it in memory (no thread
    is started by these imports, so forking stays safe)."""
    import drsn_edge.readers  # noqa: F401

    if fmt in ("stdin", "model"):
        import onnxruntime  # noqa: F401

        import drsn_edge.cli.main
        import drsn_edge.cli.stream
        import drsn_edge.runtime.app
        import drsn_edge.runtime.backends.onnxruntime_backend
        import drsn_edge.runtime.loader  # noqa: F401


def fuzz(fmt: str, cases: int, seed: int, work: Path, save: Path | None = None, log=print) -> dict[str, Any]:
    preload(fmt)
    rng = np.random.default_rng([seed, FORMATS.index(fmt)])
    base = seeds(fmt, work)
    counts: Counter[str] = Counter()
    failures = []
    refusals: Counter[str] = Counter()
    t0 = time.perf_counter()
    for i in range(cases):
        data = mutate(base[i % len(base)], rng)
        outcome, detail = run_case(fmt, data, work)
        counts[outcome] += 1
        if detail.startswith("refused: "):
            refusals[detail.split(": ", 2)[-1][:60]] += 1
        if outcome != "ok":
            failures.append({"case": i, "outcome": outcome, "detail": detail})
            if save is not None:
                save.mkdir(parents=True, exist_ok=True)
                (save / f"{fmt}-{seed}-{i}.bin").write_bytes(data)
            log(f"{fmt} case {i}: {outcome} {detail}")
    return {"format": fmt, "cases": cases, "seconds": round(time.perf_counter() - t0, 1), "outcomes": dict(counts),
            "failures": failures[:50], "top_refusals": refusals.most_common(8)}


# ---- stops at random instants -------------------------------------------------------------------------------
SIGNAL_KINDS = ("npy", "wav", "flac", "csv", "mat", "stdin", "tcp")


def _handles(pid: int, sig: int) -> bool:
    """Whether a process has a handler for ``sig`` (SigCgt in /proc)."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


def signal_inputs(work: Path) -> dict[str, Path]:
    """One recording per kind, 4 minutes at 12 kHz (a file streams for about a second: stops land in every state)."""
    import scipy.io as sio
    import soundfile as sf

    from drsn_edge.data.simulator import simulate_sequence

    x = np.tile(simulate_sequence([("normal", 20.0), ("outer_race", 20.0)], seed=2), 6).astype(np.float32)
    paths = {k: work / f"sig.{k}" for k in ("npy", "wav", "flac", "mat")}
    np.save(paths["npy"], x[None])
    sf.write(paths["wav"], x / 4, 12000, subtype="PCM_16")
    sf.write(paths["flac"], x / 4, 12000, subtype="PCM_16")
    sio.savemat(paths["mat"], {"X100_DE_time": x[:, None].astype(np.float64)})
    csv = work / "sig.csv"
    csv.write_text("time_s,accel\n" + "".join(f"{i / 12000:.6f},{v:.5f}\n" for i, v in enumerate(x[:600_000])))
    paths["csv"] = csv
    paths["raw"] = work / "sig.raw"
    paths["raw"].write_bytes(x.astype("<f4").tobytes())
    return paths


def signal_case(kind: str, inputs: dict[str, Path], work: Path, rng: np.random.Generator, i: int) -> tuple[str, str]:
    import socket
    import subprocess
    import threading

    out = work / f"sig-{i}.jsonl"
    out.unlink(missing_ok=True)
    args = [sys.executable, "-m", "drsn_edge", "stream", str(work / "seed.onnx")]
    feed = None
    if kind == "stdin":
        args += ["-", "--fs", "12000", "--raw-channels", "1"]
    elif kind == "tcp":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        args += [f"tcp-listen://127.0.0.1:{port}", "--fs", "12000", "--raw-channels", "1"]
    else:
        args += [str(inputs[kind]), "--fs", "12000"]
    args += ["--jsonl", str(out)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE if kind == "stdin" else subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    data = inputs["raw"].read_bytes()

    def send() -> None:
        try:
            if kind == "stdin":
                for k in range(0, len(data), 48_000):
                    proc.stdin.write(data[k : k + 48_000])
                    time.sleep(0.01)
                proc.stdin.close()
            else:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    try:
                        with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                            for k in range(0, len(data), 48_000):
                                c.sendall(data[k : k + 48_000])
                                time.sleep(0.01)
                        return
                    except OSError:
                        time.sleep(0.02)
        except (OSError, ValueError):
            pass  # the process went away: that is what is tested

    if kind in ("stdin", "tcp"):
        feed = threading.Thread(target=send, daemon=True)
        feed.start()
    sig = signal.SIGINT if rng.random() < 0.5 else signal.SIGTERM
    t0 = time.monotonic()
    # from the moment drsn-edge's own handlers are in place (SIGTERM caught: Python itself catches SIGINT from its
    # first instant, before any line of drsn-edge has run, and a process stopped then cannot write a summary)
    while not _handles(proc.pid, signal.SIGTERM) and proc.poll() is None and time.monotonic() - t0 < 20:
        time.sleep(0.001)
    time.sleep(float(rng.uniform(0, 2.0)))
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return "hang", sig.name
    if proc.returncode < 0:
        return "crash", f"{signal.Signals(-proc.returncode).name} after {sig.name}"
    try:
        lines = out.read_text().splitlines()
        last = json.loads(lines[-1], parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (OSError, IndexError, ValueError) as exc:
        if proc.returncode == 2 and b"error:" in err:  # refused before any output opened (it says why)
            return "ok", "refused: " + err.decode(errors="replace").strip().splitlines()[-1][:120]
        return "no_summary", f"exit {proc.returncode}: {type(exc).__name__} {err.decode(errors='replace')[-200:]}"
    if last.get("type") != "summary":
        return "no_summary", f"last record {last.get('type')}"
    if last["exit_code"] != proc.returncode:
        return "mismatch", f"summary {last['exit_code']}, process {proc.returncode}"
    return "ok", ""


def signal_campaign(kinds: list[str], cases: int, seed: int, work: Path, log=print) -> list[dict[str, Any]]:
    inputs = signal_inputs(work)
    results = []
    for kind in kinds:
        rng = np.random.default_rng([seed, SIGNAL_KINDS.index(kind)])
        counts: Counter[str] = Counter()
        failures = []
        t0 = time.perf_counter()
        for i in range(cases):
            outcome, detail = signal_case(kind, inputs, work, rng, i)
            counts[outcome] += 1
            if outcome != "ok":
                failures.append({"case": i, "outcome": outcome, "detail": detail})
                log(f"{kind} stop {i}: {outcome} {detail}")
        results.append({"format": kind, "cases": cases, "seconds": round(time.perf_counter() - t0, 1),
                        "outcomes": dict(counts), "failures": failures[:50]})
    return results


# ---- random option values -------------------------------------------------------------------------------------
#: every numeric option of ``stream``, with a value that works
NUMERIC_OPTIONS = {"--fs": "12000", "--scale": "1", "--sensitivity": "100", "--hop": "1024", "--batch-size": "64",
                   "--max-latency-ms": "5", "--queue": "256", "--clip-level": "8", "--smooth": "5", "--raise": "0.8",
                   "--clear": "0.4", "--min-raise-s": "0.5", "--min-clear-s": "1", "--suppress-s": "0",
                   "--threads": "1", "--server-wait": "60", "--mqtt-qos": "1", "--prometheus": "0",
                   "--bearing": "9,7.94,39.04,0", "--rpm": "1772", "--shaft-hz": "29.5", "--tacho-channel": "0"}
EXTREMES = ("inf", "-inf", "nan", "NaN", "1e300", "-1e300", "1e-300", "0", "-0", "-1", "1", "2", "0.5",
            "9223372036854775807", "18446744073709551616", "1e9", "-5", "abc", "", " ", "0x10", "1_000", "1e",
            "3.4028236e38", "65536", "4097")


def options_target(argv: list[str]) -> tuple[str, str]:
    import contextlib

    from drsn_edge.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    text = err.getvalue()
    if code == 70:
        return "internal", text.strip()[-200:]
    errors = [ln for ln in text.splitlines() if "error:" in ln]
    if code == 2 and len(errors) != 1:
        return "multiline", text[-300:]
    return "ok", f"exit {code}: {errors[0][:80] if errors else ''}"


def options_case(argv: list[str]) -> tuple[str, str]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        signal.alarm(TIME_LIMIT_S)
        sys.stdout = open(os.devnull, "w")
        try:
            res = options_target(argv)
        except BaseException as exc:  # noqa: BLE001 - what the campaign looks for
            res = ("internal", f"{type(exc).__name__}: {str(exc)[:200]}")
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    raw = b""
    while chunk := os.read(r, 65536):
        raw += chunk
    os.close(r)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("hang" if sig == signal.SIGALRM else "crash"), signal.Signals(sig).name
    return tuple(json.loads(raw)) if raw else ("crash", f"exit {os.WEXITSTATUS(status)} without a result")


def options_campaign(cases: int, seed: int, work: Path, log=print) -> list[dict[str, Any]]:
    preload("model")
    from drsn_edge.data.simulator import simulate_sequence

    np.save(work / "opt.npy", simulate_sequence([("normal", 1.5), ("ball", 1.5)], seed=3)[None].astype(np.float32))
    rng = np.random.default_rng(seed)
    counts: Counter[str] = Counter()
    failures = []
    t0 = time.perf_counter()
    names = list(NUMERIC_OPTIONS)
    codes: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    for i in range(cases):
        values = dict(NUMERIC_OPTIONS)
        for name in rng.choice(names, size=int(rng.integers(1, 4)), replace=False):
            value = str(rng.choice(EXTREMES)) if rng.random() < 0.8 else repr(float(rng.normal(0, 1e4)))
            if name == "--bearing" and rng.random() < 0.7:  # one of its four numbers (balls, d, D, angle)
                fields = values[name].split(",")
                fields[int(rng.integers(4))] = value
                value = ",".join(fields)
            values[str(name)] = value
        values.pop("--sensitivity" if rng.random() < 0.5 else "--scale")  # (both at once: a refusal every time)
        if rng.random() < 0.7:
            values.pop("--server-wait")  # only for triton:// models
        if rng.random() < 0.8:
            values.pop("--prometheus")
        if rng.random() < 0.3:  # bearing evidence off (then its speed options are refused: they need a bearing)
            for k in ("--bearing", "--rpm", "--shaft-hz", "--tacho-channel"):
                values.pop(k)
        else:  # one source of the speed, mostly (two at once: a refusal every time)
            for k in ("--shaft-hz", "--tacho-channel"):
                if rng.random() < 0.8:
                    values.pop(k)
        argv = ["stream", str(work / "seed.onnx"), str(work / "opt.npy"), "--jsonl", "none"]
        for k, v in values.items():
            argv.append(f"{k}={v}")
        outcome, detail = options_case(argv)
        counts[outcome] += 1
        if detail.startswith("exit "):
            code, _, why = detail.partition(": ")
            codes[code.split()[1]] += 1
            if why:
                refusals[why.split("error: ", 1)[-1][:60]] += 1
        if outcome != "ok":
            failures.append({"case": i, "outcome": outcome, "detail": detail, "argv": argv[3:]})
            log(f"options case {i}: {outcome} {detail} {' '.join(argv[3:])}")
    return [{"format": "stream options", "cases": cases, "seconds": round(time.perf_counter() - t0, 1),
             "outcomes": dict(counts), "exit_codes": dict(codes), "top_refusals": refusals.most_common(10),
             "failures": failures[:50]}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--campaign", choices=["bytes", "signals", "options"], default="bytes")
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--formats", default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--save", default="runs/fuzz-failures")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    results_dir = Path(__file__).parent / "results"
    if args.campaign != "bytes":
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            prepare(work)
            if args.campaign == "signals":
                kinds = (args.formats or ",".join(SIGNAL_KINDS)).split(",")
                results = signal_campaign(kinds, args.cases, args.seed, work)
            else:
                results = options_campaign(args.cases, args.seed, work)
        out = Path(args.out or results_dir / f"fuzz_{args.campaign}")
        head = {"signals": ("# Stops at random instants: `drsn-edge stream` by input kind",
                            "| input | stops | ok (summary, strict JSON, exit code = summary's) | crash | hang | no summary "
                            "| mismatch | seconds |", ("ok", "crash", "hang", "no_summary", "mismatch")),
                "options": ("# Random values for every numeric option of `drsn-edge stream`",
                            "| target | runs | ok (ran, or refused in one line, exit 2) | internal error | crash | hang | "
                            "multi-line | seconds |", ("ok", "internal", "crash", "hang", "multiline"))}[args.campaign]
        out.with_suffix(".json").write_text(json.dumps(results, indent=1))
        lines = [head[0], "", f"Command: `python benchmarks/fuzz.py --campaign {args.campaign} --cases {args.cases} "
                 f"--seed {args.seed}`. Machine: {os.cpu_count()} CPUs.", "", head[1], "|" + "---|" * 8]
        for r in results:
            o = r["outcomes"]
            lines.append(f"| {r['format']} | {r['cases']} | " + " | ".join(str(o.get(k, 0)) for k in head[2])
                         + f" | {r['seconds']} |")
        out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    args.formats = args.formats or ",".join(FORMATS)
    args.out = args.out or str(results_dir / "fuzz")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work)
        results = [fuzz(f, args.cases, args.seed, work, Path(args.save)) for f in args.formats.split(",")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    lines = ["# Fuzzing the parsers (byte mutations of valid seed files)", "",
             f"Command: `python benchmarks/fuzz.py --cases {args.cases} --seed {args.seed} --formats {args.formats}`. "
             "Each input in a forked "
             f"child, {TIME_LIMIT_S} s and {MEMORY_LIMIT >> 30} GiB limits.", "",
             "| input | cases | ok (read or refused in one line) | internal error | crash | hang | multi-line | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        o = r["outcomes"]
        lines.append(f"| {r['format']} | {r['cases']} | {o.get('ok', 0)} | {o.get('internal', 0)} | {o.get('crash', 0)} | "
                     f"{o.get('hang', 0)} | {o.get('multiline', 0)} | {r['seconds']} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
