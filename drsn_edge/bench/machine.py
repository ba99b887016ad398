"""The machine a result was measured on, written into every results file: CPU model and the ISA flags that matter,
cores, thread settings, library versions, GPU."""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np
import onnxruntime as ort

from drsn_edge.runtime.cpu_features import cpu_description
from drsn_edge.runtime.gpu import gpu_info


def machine_info(threads: int | None = None) -> dict[str, Any]:
    cpu = cpu_description()
    info: dict[str, Any] = {
        "cpu": cpu["model"], "isa": cpu["isa"], "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(), "numpy": np.__version__, "onnxruntime": ort.__version__,
        "platform": platform.platform(),
        "threads": {"inference_intra_op": threads, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "gpu": gpu_info(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["threads"]["torch"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def describe(m: dict[str, Any]) -> str:
    """One line: what a reader needs to compare numbers across machines."""
    isa = ", ".join(m["isa"]) or "no AVX2"
    gpu = m["gpu"]["name"] if m.get("gpu") else "none"
    return (f"{m['cpu']} ({m['cores']} cores; {isa}); onnxruntime {m['onnxruntime']}, torch {m.get('torch', '-')}, "
            f"numpy {m['numpy']}, Python {m['python']}; inference threads {m['threads'].get('inference_intra_op')}; "
            f"GPU: {gpu}")
