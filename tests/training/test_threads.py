"""Training jobs choose their threads for the machine: train follows the cores other processes leave free, adapt and
enrol sleep rather than spin beside other work; all take --threads."""

import os
import subprocess
import sys

import pytest
import torch

from drsn_edge.cli.main import main
from drsn_edge.training import threads
from drsn_edge.training.threads import (
    FreeCores,
    busy_cpu_seconds,
    cpu_quota,
    following_free_cores,
    usable_cores,
    use_threads,
)


def test_use_threads_sets_torch():
    before = torch.get_num_threads()
    try:
        assert use_threads(1) == 1 and torch.get_num_threads() == 1
        assert use_threads() == usable_cores() == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("argv,policy", [(["adapt"], "PASSIVE"), (["enrol"], "PASSIVE"), (["train", "--threads", "2"],
                                                                                               "PASSIVE"),
                                         (["train", "--threads=2"], "PASSIVE"), (["train", "--thread", "2"], "PASSIVE"),
                                         (["train"], None), (["train", "--data", "sim"], None), (["stream"], None)])
def test_jobs_beside_a_stream_do_not_spin(argv, policy):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = (f"import sys, os; sys.argv = ['drsn-edge', *{argv!r}, '--help']; import drsn_edge.cli.main; "
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


class _Clock:
    """Fake /proc/stat and process times: the others' busy seconds and this process's own, set by the test."""

    def __init__(self) -> None:
        self.others, self.own = 0.0, 0.0

    def busy(self) -> float:
        return self.others + self.own


def test_free_cores_gives_a_core_to_a_busy_neighbour_and_takes_it_back():
    c, set_to = _Clock(), []
    f = FreeCores(2, cores=2, every_s=1.0, busy=c.busy, own=lambda: c.own, set_threads=set_to.append)
    t0 = f._mark[0]
    c.own += 2.0  # alone: our two threads busy for a second
    assert f.poll(t0 + 1.0) == 2 and set_to == []
    c.own += 1.0
    c.others += 0.5  # a busy process beside two spinning threads gets about half a core
    assert f.poll(t0 + 2.0) == 1 and set_to == [1]
    c.others += 0.3  # under 0.4 of a core over the next 0.5 s: not yet due, nothing read
    assert f.poll(t0 + 2.5) == 1
    c.others += 0.2  # ... and 0.5 of a core over the whole second since the last reading: kept at one thread
    assert f.poll(t0 + 3.0) == 1
    c.own += 1.0  # the neighbour stopped
    assert f.poll(t0 + 4.0) == 2 and set_to == [1, 2]


def test_free_cores_keeps_the_threads_without_proc_stat():
    set_to = []
    f = FreeCores(4, cores=4, busy=lambda: None, own=lambda: 0.0, set_threads=set_to.append)
    assert f.poll(f._mark[0] + 5.0) == 4 and set_to == []


def test_busy_cpu_seconds_reads_the_usable_cores():
    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat on this system")
    a = busy_cpu_seconds()
    sum(i * i for i in range(2_000_000))  # some work of our own
    b = busy_cpu_seconds()
    assert a is not None and b is not None and b > a


def test_free_cores_under_a_quota_counts_the_others_on_every_core_it_may_run_on():
    """A container allowed 2 CPUs on a 64-core host: 30 cores busy elsewhere still leave it its 2 threads; 63 do not."""
    c, set_to = _Clock(), []
    f = FreeCores(2, cores=64, busy=c.busy, own=lambda: c.own, set_threads=set_to.append)
    t0 = f._mark[0]
    c.others += 30.0
    assert f.poll(t0 + 1.0) == 2 and set_to == []
    c.others += 63.0
    assert f.poll(t0 + 2.0) == 1 and set_to == [1]


def test_cpu_quota_reads_cgroup_v2_and_v1(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert cpu_quota(str(v2)) == 1.5
    (v2 / "cpu.max").write_text("max 100000\n")
    assert cpu_quota(str(v2)) is None
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert cpu_quota(str(tmp_path / "v1")) == 2.0
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu_quota(str(tmp_path / "v1")) is None
    assert cpu_quota(str(tmp_path / "none")) is None


def test_usable_cores_is_capped_by_a_quota(monkeypatch):
    import drsn_edge.training.threads as threads

    monkeypatch.setattr(threads, "affinity_cores", lambda: 64)
    monkeypatch.setattr(threads, "cpu_quota", lambda: 1.5)
    assert threads.usable_cores() == 2
    monkeypatch.setattr(threads, "cpu_quota", lambda: None)
    assert threads.usable_cores() == 64


def test_following_free_cores_gives_the_threads_back_at_the_end():
    before = torch.get_num_threads()
    try:
        with following_free_cores(before + 1) as f:
            assert threads._follower is f
            f._set(1)  # as a busy neighbour would have it
            f.threads = 1
        assert threads._follower is None and torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)
