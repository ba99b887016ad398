"""CLI conventions: examples at the end of every --help, progress only on a terminal, evaluate and its alias."""

import subprocess
import sys

import pytest

from drsn_edge.cli.main import build_parser

COMMANDS = ["train", "evaluate", "export", "verify", "stream", "bench", "demo", "data inspect"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_examples(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command.split(), "--help"])
    text = capsys.readouterr().out.rstrip().splitlines()
    idx = max(i for i, line in enumerate(text) if line.startswith("examples:"))
    examples = text[idx + 1 :]
    assert 2 <= len(examples) <= 3 and all(line.strip().startswith("drsn-edge ") or line.startswith("  ") for line in examples)


def test_eval_is_an_alias_of_evaluate():
    a = build_parser().parse_args(["evaluate", "m.onnx"])
    b = build_parser().parse_args(["eval", "m.onnx"])
    assert a.func is b.func


def test_no_progress_bars_in_a_pipe(tmp_path):
    """In CI and pipes, long commands stay quiet: no bars, no carriage returns."""
    p = subprocess.run([sys.executable, "-m", "drsn_edge", "train", "--sim-duration", "1", "--sim-recordings", "1",
                        "--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "--out",
                        str(tmp_path / "m.safetensors")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "\r" not in p.stderr and "\r" not in p.stdout and "━" not in p.stderr
    p = subprocess.run([sys.executable, "-m", "drsn_edge", "evaluate", str(tmp_path / "m.safetensors"), "--snr", "0,clean"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "\r" not in p.stderr and "━" not in p.stderr
