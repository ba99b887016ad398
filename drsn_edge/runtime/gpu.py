"""Which NVIDIA GPU is here, through NVIDIA's CUDA Python bindings (cuda-python; also on Jetson), without torch."""

from __future__ import annotations

from functools import cache


@cache
def gpu_status(device: int = 0) -> tuple[dict[str, str] | None, str]:
    """``({"name", "compute_capability", "driver"}, "ok")`` for a usable CUDA device, else ``(None, why not)``."""
    try:
        from cuda.bindings import driver
    except ImportError:
        return None, "cuda-python is not installed (pip install 'drsn-edge[gpu]' on a machine with an NVIDIA GPU)"
    try:
        (err,) = driver.cuInit(0)
    except Exception:  # noqa: BLE001 - the bindings raise their own type when libcuda is absent
        return None, "no NVIDIA driver (libcuda) on this machine"
    if err != driver.CUresult.CUDA_SUCCESS:
        return None, f"the NVIDIA driver did not start ({err.name})"
    err, count = driver.cuDeviceGetCount()
    if err != driver.CUresult.CUDA_SUCCESS or count <= device:
        return None, "no CUDA device" if not count else f"no CUDA device {device} (there are {count})"
    err, dev = driver.cuDeviceGet(device)
    err, name = driver.cuDeviceGetName(256, dev)
    attr = driver.CUdevice_attribute
    _, major = driver.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev)
    _, minor = driver.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev)
    _, version = driver.cuDriverGetVersion()
    return ({"name": name.split(b"\0", 1)[0].decode(errors="replace"), "compute_capability": f"{major}.{minor}",
             "driver_cuda": f"{version // 1000}.{version % 1000 // 10}"}, "ok")


def gpu_info(device: int = 0) -> dict[str, str] | None:
    return gpu_status(device)[0]


def no_gpu_reason() -> str:
    """Why GPU work cannot run here, as the end of a sentence."""
    return f"it needs an NVIDIA GPU, and {gpu_status()[1]}"

