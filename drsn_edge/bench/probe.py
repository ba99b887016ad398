"""Child process for cold start and peak memory: ``python -m drsn_edge.bench.probe KIND PATH BATCH THREADS``.

Prints one JSON line: seconds from interpreter start to the first result, and peak RSS in MiB.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

from drsn_edge.bench.timing import sgemm_peak_gflops
from drsn_edge.runtime.loader import open_model
from drsn_edge.runtime.providers import ProviderSettings


def peak_rss_mib() -> float:
    """High-water RSS of this process. ru_maxrss survives exec (it would report the parent's), VmHWM does not."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    kind, path, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    if kind == "pytorch":
        import torch

        torch.set_num_threads(threads)
        from drsn_edge.evaluation.torch_backend import TorchBackend

        be = TorchBackend(path)
    elif kind == "sgemm":
        print(json.dumps({"gflops": sgemm_peak_gflops()}))
        return
    else:
        be, _ = open_model(path, ProviderSettings(provider=kind, intra_op_threads=threads))
        be.warmup = 0
    be.activate()
    spec = be.input_spec()
    be.infer(np.zeros((batch, int(spec.shape[1]), int(spec.shape[2])), np.float32))
    first = time.time()
    rss = peak_rss_mib()
    print(json.dumps({"first_result_unix": first, "peak_rss_mib": rss}))


if __name__ == "__main__":
    main()
