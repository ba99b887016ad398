"""An adapted model, deployed: do its FP16 and INT8 exports keep its accuracy on the new machine?

The user's path, through the CLI: a leave-one-load-out fold model (``--work``, from cwru_generalization.py) is
adapted (`drsn-edge adapt`, tent) to the held-out load from the first half of each of its fault recordings, given
as a manifest (unlabelled use: adapt ignores labels); exported (`drsn-edge export --fp16 --int8 --calib` the same
first halves); then every format is evaluated (`drsn-edge evaluate`) on the second halves, which no step saw.

Usage: python benchmarks/adapted_formats.py --data-dir ../shared/data/cwru/12k_drive_end --work runs/cwru_gen_e12
       [--tags robust-wide-s0-lolo-3hp,robust-wide-s0-lolo-1hp]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from drsn_edge.cli.main import main as cli
from drsn_edge.data.sources.cwru import CATALOGUE, LABEL_SETS, class_of
from drsn_edge.readers import ReadOptions, open_reader

RESULTS = Path(__file__).parent / "results"
FORMATS = ("adapted.safetensors", "adapted.onnx", "adapted.fp16.onnx", "adapted.int8.onnx")


def manifests(data_dir: Path, load: str, out: Path) -> tuple[Path, Path]:
    """Manifests of the first and second halves of the held-out load's fault recordings (drsn-edge's CWRU catalogue
    names each file's class and load; the reader gives its length)."""
    head = "path,label,group,channels,start_s,stop_s"
    first, second = [head], [head]
    for path in sorted(data_dir.glob("*.mat")):
        entry = CATALOGUE.get(int(path.stem)) if path.stem.isdigit() else None
        label = class_of(entry, "10") if entry else None
        if label in (None, "normal") or f"{entry.load_hp}hp" != load:
            continue
        with open_reader(path, ReadOptions(channels=("DE",))) as r:
            seconds = r.info.frames / r.info.fs
        first.append(f"{path},{label},{load},DE,0,{seconds / 2:.4f}")
        second.append(f"{path},{label},{load},DE,{seconds / 2:.4f},{seconds:.4f}")
    (out / "first.csv").write_text("\n".join(first) + "\n")
    (out / "second.csv").write_text("\n".join(second) + "\n")
    return out / "first.csv", out / "second.csv"


def run(tag: str, work: Path, data_dir: Path) -> dict[str, Any]:
    load = tag.rsplit("-", 1)[1]
    tmp = Path(tempfile.mkdtemp(prefix=f"adapted-{tag}-"))
    first, second = manifests(data_dir, load, tmp)
    classes = ",".join(LABEL_SETS["10"])
    ck = str(work / f"{tag}.safetensors")
    steps = {"before": ck}
    assert cli(["adapt", ck, "--data", str(first), "--classes", classes, "-o", str(tmp / FORMATS[0])]) == 0
    assert cli(["export", str(tmp / FORMATS[0]), "-o", str(tmp / FORMATS[1]), "--fp16", "--int8", "--calib", str(first),
                "--classes", classes]) == 0
    out: dict[str, Any] = {}
    for name, path in [*steps.items(), *[(f, str(tmp / f)) for f in FORMATS]]:
        js = tmp / f"{name}.json"
        assert cli(["evaluate", path, "--data", str(second), "--classes", classes, "--split", "all", "--snr", "clean",
                    "--json", str(js)]) == 0
        rep = json.loads(js.read_text())
        clean = rep["clean"]
        out[name] = {"accuracy": clean["accuracy"], "balanced_accuracy": clean["balanced_accuracy"]}
        print(f"{tag} {name}: balanced {100 * out[name]['balanced_accuracy']:.2f} %", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--work", default="runs/cwru_gen_e12")
    ap.add_argument("--tags", default="robust-wide-s0-lolo-3hp,robust-wide-s0-lolo-1hp")
    args = ap.parse_args()
    rows = {tag: run(tag, Path(args.work), Path(args.data_dir).resolve()) for tag in args.tags.split(",")}
    out = {"protocol": __doc__.split("\n\n")[1], "rows": rows}
    (RESULTS / "adapted_formats.json").write_text(json.dumps(out, indent=1))
    lines = ["# An adapted model's exports on the new machine (CWRU, held-out load, second halves of its recordings)", "",
             out["protocol"], "", "Command: `python benchmarks/adapted_formats.py --data-dir ../shared/data/cwru/"
             f"12k_drive_end --work {args.work} --tags {args.tags}`", "",
             "| fold model | before adapt | adapted (PyTorch) | ONNX FP32 | FP16 | INT8 | worst drop vs FP32, points |",
             "|---|---|---|---|---|---|---|"]
    for tag, r in rows.items():
        b = {k: 100 * v["balanced_accuracy"] for k, v in r.items()}
        drop = max(b["adapted.onnx"] - b["adapted.fp16.onnx"], b["adapted.onnx"] - b["adapted.int8.onnx"])
        lines.append(f"| {tag} | {b['before']:.2f} | {b['adapted.safetensors']:.2f} | {b['adapted.onnx']:.2f} | "
                     f"{b['adapted.fp16.onnx']:.2f} | {b['adapted.int8.onnx']:.2f} | {drop:.2f} |")
    lines += ["", "Balanced accuracy %, 9 fault classes of the held-out load, clean."]
    (RESULTS / "adapted_formats.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
