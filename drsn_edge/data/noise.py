"""Additive noise at a target SNR relative to each window's own power (numpy only)."""

from __future__ import annotations

import numpy as np

from drsn_edge.errors import DrsnEdgeError

NOISE_TYPES = ("gaussian", "laplacian", "pink")


def unit_noise(shape: tuple[int, ...], kind: str, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean noise with mean square exactly 1 along the last axis."""
    if kind == "gaussian":
        n = rng.standard_normal(shape)
    elif kind == "laplacian":
        n = rng.laplace(0.0, 1.0, shape)
    elif kind == "pink":
        # Shape white noise to a 1/f power spectrum (amplitude 1/sqrt(f)): -10 dB per decade.
        spec = np.fft.rfft(rng.standard_normal(shape), axis=-1)
        f = np.arange(spec.shape[-1], dtype=np.float64)
        f[0] = np.inf  # no DC
        n = np.fft.irfft(spec / np.sqrt(f), n=shape[-1], axis=-1)
    else:
        raise DrsnEdgeError(f"unknown noise type {kind!r}; choose from {', '.join(NOISE_TYPES)}")
    n = n - n.mean(axis=-1, keepdims=True)
    return n / np.sqrt(np.mean(n * n, axis=-1, keepdims=True) + 1e-30)


def add_noise(
    x: np.ndarray,
    snr_db: float | np.ndarray,
    kind: str | np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Return ``x + noise`` so that each window (last axis) has exactly the requested SNR in dB.

    ``x`` is ``(..., T)``; ``snr_db`` a scalar or an array broadcastable to ``x.shape[:-1]`` (per
    window); ``kind`` one noise type or an array of types, one per leading index of ``x``.
    Signal power is the window's mean square, per channel.
    """
    x = np.asarray(x)
    power = np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True)
    scale = np.sqrt(power / 10.0 ** (np.asarray(snr_db, dtype=np.float64)[..., None] / 10.0))
    if isinstance(kind, str):
        noise = unit_noise(x.shape, kind, rng)
    else:
        kinds = np.asarray(kind)
        noise = np.empty(x.shape, dtype=np.float64)
        for k in np.unique(kinds):
            idx = np.nonzero(kinds == k)[0]
            noise[idx] = unit_noise((len(idx), *x.shape[1:]), str(k), rng)
    return (x + noise * scale).astype(x.dtype, copy=False)


def parse_snr_range(text: str) -> tuple[float, float]:
    """Parse ``"-4"`` or ``"-6:10"`` into a (low, high) range in dB."""
    parts = text.split(":")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise DrsnEdgeError(f"bad SNR {text!r}: expected a number of dB like -4, or a range like -6:10") from None
    if len(vals) == 1:
        return vals[0], vals[0]
    if len(vals) == 2 and vals[0] <= vals[1]:
        return vals[0], vals[1]
    raise DrsnEdgeError(f"bad SNR range {text!r}: expected LOW:HIGH with LOW <= HIGH, e.g. -6:10")


def parse_snr_list(text: str) -> list[float | None]:
    """Parse ``"-4,-2,0,clean"`` into SNR values in dB; ``clean`` (no noise) becomes ``None``."""
    out: list[float | None] = []
    for item in text.split(","):
        item = item.strip()
        if item.lower() in ("clean", "none", "inf"):
            out.append(None)
            continue
        try:
            out.append(float(item))
        except ValueError:
            raise DrsnEdgeError(
                f"bad SNR {item!r} in {text!r}: expected numbers of dB or 'clean', e.g. -4,0,4,clean"
            ) from None
    if not out:
        raise DrsnEdgeError("empty SNR list")
    return out


def parse_noise_types(text: str) -> tuple[str, ...]:
    """Parse ``"gaussian"``, ``"gaussian,pink"``, ``"all"`` or ``"none"``."""
    if text.strip().lower() in ("none", ""):
        return ()
    if text.strip().lower() == "all":
        return NOISE_TYPES
    kinds = tuple(k.strip().lower() for k in text.split(","))
    for k in kinds:
        if k not in NOISE_TYPES:
            raise DrsnEdgeError(f"unknown noise type {k!r}; choose from {', '.join(NOISE_TYPES)}, all, none")
    return kinds
