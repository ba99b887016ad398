"""Training jobs choose their threads for the machine, sleep rather than spin beside other work, and take --threads."""

import os
import subprocess
import sys

import pytest
import torch

from drsn_edge.cli.main import main
from drsn_edge.training.threads import usable_cores, use_threads


def test_use_threads_sets_torch():
    before = torch.get_num_threads()
    try:
        assert use_threads(1) == 1 and torch.get_num_threads() == 1
        assert use_threads() == usable_cores() == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("command,policy", [("adapt", "PASSIVE"), ("enrol", "PASSIVE"), ("train", "PASSIVE"),
                                            ("stream", None)])
def test_training_commands_do_not_spin(command, policy):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = (f"import sys, os; sys.argv = ['drsn-edge', {command!r}, '--help']; import drsn_edge.cli.main; "
            "print(os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == str(policy)
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "ACTIVE"  # the user's choice stands


def test_bad_threads_is_one_line(capsys, tmp_path):
    assert main(["adapt", "sim-paper", "--data", "sim", "-o", str(tmp_path / "a.safetensors"), "--threads", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["drsn-edge adapt: error: --threads must be from 1 to 256, got 0"]
