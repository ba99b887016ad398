"""Which NVIDIA GPU is here, through the CUDA driver API (libcuda), without torch or pycuda."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

_CC_MAJOR, _CC_MINOR = 75, 76  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_{MAJOR,MINOR}


@cache
def gpu_info(device: int = 0) -> dict[str, str] | None:
    """``{"name", "compute_capability"}`` of a CUDA device, or None when there is no driver or GPU."""
    names = ["libcuda.so.1", "libcuda.so", ctypes.util.find_library("cuda")]
    lib = None
    for name in filter(None, names):
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None or lib.cuInit(0) != 0:
        return None
    dev = ctypes.c_int()
    if lib.cuDeviceGet(ctypes.byref(dev), device) != 0:
        return None
    buf = ctypes.create_string_buffer(256)
    major, minor = ctypes.c_int(), ctypes.c_int()
    lib.cuDeviceGetName(buf, 256, dev)
    lib.cuDeviceGetAttribute(ctypes.byref(major), _CC_MAJOR, dev)
    lib.cuDeviceGetAttribute(ctypes.byref(minor), _CC_MINOR, dev)
    return {"name": buf.value.decode(errors="replace"), "compute_capability": f"{major.value}.{minor.value}"}


NO_GPU = "it needs an NVIDIA GPU with its driver (libcuda), and none was found on this machine"
