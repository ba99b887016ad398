"""Fill README.md's results section from the results files under benchmarks/results (never typed by hand).

    python benchmarks/readme_tables.py          # rewrite the section
    python benchmarks/readme_tables.py --check  # exit 1 if README.md is out of step (a test runs this)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
#: README block -> (heading, results file), shown in this order where the file exists
BLOCKS = {
    "generalization": [
        ("Unseen recordings: CWRU, leave one load out, wide preset, 3 seeds (robust = train's default recipe, with "
         "the refit; robust-norefit = the same without it)",
         "cwru_generalization.md"),
        ("Unseen recordings: paper preset (baseline recipe, 20 epochs, one seed)", "cwru_generalization_paper.md"),
        ("A new machine without labels: adapt", "cwru_adaptation.md"),
        ("An adapted model's FP16 / INT8 exports", "adapted_formats.md"),
        ("Saying \"unknown\": a fault class never trained on", "open_set.md"),
        ("Noise level telemetry", "noise_telemetry.md"),
        ("Clean beside noisy: the default recipe on clean input (held-out groups)", "clean_vs_noisy.md"),
    ],
    "timings": [
        ("Time of the main jobs, idle 2-core VM", "timings.md"),
    ],
    "location": [
        ("Fault location on machines the model never saw: model alone, bearing evidence alone, combined",
         "bearing_evidence.md"),
        ("Alarm spans, the simulator, and the cost, same run", "bearing_evidence.md", "summary"),
    ],
    "zoo": [
        ("The zoo's models, retrained and measured", "zoo.md"),
        ("A few labelled loads of a new machine: fine-tuning cwru-wide, from scratch, adapting", "few_shot.md"),
    ],
    "serving": [
        ("The device install: `pip install drsn-edge` (base only) in a fresh venv", "device_install.md"),
        ("Wheels for the ARM boards", "device_arm.md"),
        ("Model swaps while streaming (serve)", "model_swap.md"),
        ("adapt beside a 64-channel stream", "adapt_beside.md"),
    ],
    "enrolment": [
        ("Enrolled on healthy data only: simulated machines no model trained on, 0 dB SNR", "enrolment.md"),
        ("CWRU and the cost, same run", "enrolment.md", "summary"),
    ],
    "results": [
        ("Paper protocol (time split inside recordings, -4 dB)", "paper_protocol_cwru.md"),
        ("Formats side by side, 2-core CPU (accuracy on windows of recordings the model trained on: it compares "
         "formats, it does not measure the model)", "cpu-2core/bench.md"),
        ("Streaming runtime on one inference thread, same run", "cpu-2core/bench.md", "summary"),
        ("Paper preset, same machine", "cpu-2core-paper/bench.md"),
        ("Paper preset: streaming runtime, same run", "cpu-2core-paper/bench.md", "summary"),
        ("NVIDIA H200 and its 16-core Xeon host (onnxruntime-gpu 1.31.1; no TensorRT there; accuracy as above: "
         "recordings the model trained on)", "h200/bench-cwru.md"),
        ("ONNX Runtime or OpenVINO on an Intel Xeon with AMX (one thread; OpenVINO on `export --openvino`'s files)",
         "openvino_cpu_xeon.md"),
        ("OpenVINO's own API or ONNX Runtime's OpenVINO provider, same Xeon, batch 64", "openvino_ep.md"),
        ("ONNX Runtime or OpenVINO on an AMD EPYC with AVX512-VNNI, no AMX (one thread; measured before `export "
         "--openvino`: OpenVINO on model.onnx's 2-D form)", "openvino_cpu.md"),
        ("Triton Inference Server, N streaming clients", "triton.md"),
        ("Bounded memory", "soak.md"),
        ("Fuzzing the file parsers", "fuzz_readers.md"),
        ("Fuzzing standard input and model files", "fuzz_cli.md"),
        ("Stops at random instants (SIGINT / SIGTERM), by input kind", "fuzz_signals.md"),
        ("Random values for every numeric option of stream", "fuzz_options.md"),
    ],
}
SECTIONS = [s for block in BLOCKS.values() for s in block]


def first_block(md: str, part: str = "table") -> list[str]:
    """The first markdown table of a results file (``part="table"``, where it has one), or its bold summary lines."""
    lines = md.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("|")), None)
    if start is None or part == "summary":  # one paragraph each (consecutive lines would run into one)
        bold = [ln for ln in lines if "**" in ln and not ln.startswith("|")]
        return [x for ln in bold for x in (ln, "")][:-1]
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    rows = lines[start:end]
    kept = [r for r in rows if "| skipped:" not in r]  # rows a machine could not run: named below, not repeated
    skipped = [r.split("|")[1].strip() for r in rows if "| skipped:" in r]
    return kept + ([f"\n(Not run on that machine: {', '.join(skipped)}; reasons in the file.)"] if skipped else [])


def generate(block: str) -> str:
    out = []
    for heading, name, *part in BLOCKS[block]:
        path = RESULTS / name
        if not path.exists():
            continue
        out += [f"**{heading}** ([`{name}`](benchmarks/results/{name}))", "", *first_block(path.read_text(), *part), ""]
    return "\n".join(out).rstrip() + "\n"


def render(readme: str) -> str:
    for block in BLOCKS:
        begin, end = f"<!-- generated:{block} -->", f"<!-- end:{block} -->"
        if begin not in readme or end not in readme:
            raise SystemExit(f"README.md has no {begin} ... {end} section")
        head, rest = readme.split(begin, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{begin}\n{generate(block)}{end}{tail}"
    return readme


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    now = README.read_text()
    new = render(now)
    if args.check:
        if new != now:
            sys.exit("README.md's results section is out of step with benchmarks/results: "
                     "run python benchmarks/readme_tables.py")
        return
    README.write_text(new)


if __name__ == "__main__":
    main()
