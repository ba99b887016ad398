"""The CPU instruction sets that decide which INT8 scheme is fast (read from /proc/cpuinfo; torch-free)."""

from __future__ import annotations

import platform
from functools import cache

#: flags that matter for inference speed, as /proc/cpuinfo names them
ISA_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8")


@cache
def cpu_description() -> dict[str, object]:
    """Model name and the ISA flags present (empty on machines without /proc/cpuinfo)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and name in ("", platform.machine(), platform.processor()):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith(("flags", "Features")):
                    flags = set(line.split(":", 1)[1].split())
                if name and flags:
                    break
    except OSError:
        pass
    return {"model": name, "isa": [f for f in ISA_FLAGS if f in flags], "machine": platform.machine()}


def has_vnni() -> bool:
    """x86 VNNI (AVX512-VNNI or AVX-VNNI): u8 x s8 dot products without the 16-bit saturation of AVX2's vpmaddubsw."""
    isa = cpu_description()["isa"]
    return "avx512_vnni" in isa or "avx_vnni" in isa
