"""CLI conventions: examples at the end of every --help, progress only on a terminal, evaluate and its alias."""

import subprocess
import sys

import numpy as np
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


ALL_COMMANDS = [*COMMANDS, "adapt"]


def _subparser(command: str):
    parser = build_parser()
    for word in command.split():
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[word]
    return parser


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_help_shows_every_default(command):
    """Before, --help showed no default for --epochs or --patience; users found them in training/config.py."""
    import argparse

    parser = _subparser(command)
    formatter = parser._get_formatter()
    missing = [a.option_strings[0] for a in parser._actions
               if a.option_strings and a.nargs != 0 and not a.required and a.help != argparse.SUPPRESS
               and a.dest != "help" and "default" not in formatter._get_help_string(a)]
    assert not missing, f"{command}: no default shown for {missing}"


def test_one_flag_means_one_thing_in_every_command():
    """--fs is the input's rate wherever recordings are read; the model's rate has its own flag."""
    fs_help = {c: next(a.help for a in _subparser(c)._actions if "--fs" in a.option_strings)
               for c in ("train", "evaluate", "adapt", "export", "data inspect", "stream", "bench")}
    assert len(set(fs_help.values())) == 1, fs_help
    for c in ("train", "stream"):
        assert any("--normal-label" in a.option_strings for a in _subparser(c)._actions)
    assert any("--model-fs" in a.option_strings for a in _subparser("train")._actions)


def test_old_spellings_work_with_one_note(tmp_path, capsys):
    from drsn_edge.cli.main import main

    for label in ("normal", "ball"):
        (tmp_path / label).mkdir()
        np.save(tmp_path / label / "a.npy", np.random.default_rng(0).standard_normal((1, 8000)).astype(np.float32))
    assert main(["data", "inspect", str(tmp_path), "--file-fs", "12000"]) == 0
    err = capsys.readouterr().err
    assert err.count("note: --file-fs is now --fs") == 1 and len(err.strip().splitlines()) == 1


def test_every_error_names_a_flag_of_its_own_command_and_its_advice_works(tmp_path, capsys, stream_model):
    """A .npy without a rate: the error said "give it (--fs, ...)", and in train --fs then set the model's rate and
    failed again. Each command's advice, followed, now gets past the error."""
    import re

    from drsn_edge.cli.main import main

    data = tmp_path / "data"
    for label in ("normal", "ball"):
        (data / label).mkdir(parents=True)
        np.save(data / label / "a.npy", np.random.default_rng(1).standard_normal((1, 30000)).astype(np.float32))
    fast = ["--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "4", "--no-refit", "--quiet"]
    cases = {
        "train": (["train", "--data", str(data), "--out", str(tmp_path / "m.safetensors"), *fast], "--fs", "12000"),
        "evaluate": (["evaluate", str(stream_model[1]), "--data", str(data), "--snr", "clean"], "--fs", "12000"),
        "stream": (["stream", str(stream_model[1]), str(data / "ball" / "a.npy"), "--jsonl", "none"], "--fs", "12000"),
    }
    for command, (argv, flag, value) in cases.items():
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, err
        named = set(re.findall(r"--[a-z][a-z0-9-]+", err))
        options = {o for a in _subparser(command)._actions for o in a.option_strings}
        assert flag in named and named <= options, (command, err)
        code = main([*argv, flag, value])
        err = capsys.readouterr().err
        assert code in (0, 1), (command, err)  # 1: stream raised an alarm


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`data inspect ... | head` ended with "error: Broken pipe"."""
    for label in ("normal", "ball"):
        (tmp_path / label).mkdir()
        for i in range(40):
            np.save(tmp_path / label / f"r{i}.npy", np.random.default_rng(i).standard_normal((1, 4000)).astype(np.float32))
    p = subprocess.run(f"{sys.executable} -m drsn_edge data inspect {tmp_path} --fs 12000 | head -n 1; "
                       "echo rc=${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True, text=True,
                       timeout=120)
    assert p.stderr == "", p.stderr
    assert p.stdout.strip().endswith(("rc=141", "rc=0")), p.stdout


def _commands_with(option: str) -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(name for name, p in sub.choices.items() if any(option in a.option_strings for a in p._actions))


@pytest.mark.parametrize("command", _commands_with("--out"))
def test_out_is_also_o_in_every_command(command):
    """One flag, one meaning: the README's `train ... -o mine.safetensors` was refused (train had only --out)."""
    parser = _subparser(command)
    action = next(a for a in parser._actions if "--out" in a.option_strings)
    assert "-o" in action.option_strings
