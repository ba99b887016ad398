"""A unit's history in fixed memory, for reports: at most ``cap`` time bins; when full, neighbouring bins merge, so a
month of streaming costs what a minute does (coarser in time, never truncated)."""

from __future__ import annotations

import numpy as np


class Timeline:
    def __init__(self, num_classes: int, cap: int = 1200) -> None:
        self.cap, self.k = cap, num_classes
        self.t0 = np.zeros(cap)
        self.t1 = np.zeros(cap)
        self.prob = np.zeros((cap, num_classes))  # sums of smoothed probabilities
        self.pf_max = np.zeros(cap)
        self.count = np.zeros(cap, np.int64)  # windows per bin
        self.rejected = np.zeros(cap, np.int64)
        self.noise = np.zeros(cap)  # sum of noise levels (where the model reports one)
        self.noise_n = np.zeros(cap, np.int64)
        self.n = 0  # bins used
        self.per_bin = 1  # windows per bin (doubles when the bins are full)

    def widen(self, num_classes: int) -> None:
        """Room for more classes (a swapped-in model's): their probability is 0 in the bins before."""
        self.prob = np.pad(self.prob, ((0, 0), (0, num_classes - self.k)))
        self.k = num_classes

    def _bin(self, t: float) -> int:
        """The bin that takes an event at ``t``: the last one, or a new one when it is full."""
        if self.n and (self.count[self.n - 1] + self.rejected[self.n - 1]) < self.per_bin:
            return self.n - 1
        if self.n == self.cap:
            self._halve()
        i = self.n
        self.n += 1
        self.t0[i] = self.t1[i] = t
        return i

    def _halve(self) -> None:
        h = self.cap // 2
        for a in (self.prob, self.count, self.rejected, self.noise, self.noise_n):
            a[:h] = a[0 : 2 * h : 2] + a[1 : 2 * h : 2]
            a[h:] = 0
        self.pf_max[:h] = np.maximum(self.pf_max[0 : 2 * h : 2], self.pf_max[1 : 2 * h : 2])
        self.t0[:h] = self.t0[0 : 2 * h : 2]
        self.t1[:h] = self.t1[1 : 2 * h : 2]
        self.pf_max[h:] = 0
        self.n, self.per_bin = h, self.per_bin * 2

    def add(self, t: np.ndarray, smoothed: np.ndarray, p_fault: np.ndarray, noise: np.ndarray | None = None) -> None:
        for j in range(len(t)):  # a few operations per window; bins fill in order
            i = self._bin(float(t[j]))
            self.t1[i] = float(t[j])
            self.prob[i] += smoothed[j]
            self.pf_max[i] = max(self.pf_max[i], float(p_fault[j]))
            self.count[i] += 1
            if noise is not None:
                self.noise[i] += float(noise[j])
                self.noise_n[i] += 1

    def reject(self, t: float) -> None:
        i = self._bin(t)
        self.t1[i] = t
        self.rejected[i] += 1

    def arrays(self) -> dict[str, np.ndarray]:
        """Bins in time order; ``prob`` is NaN for bins that hold only rejected windows."""
        n = self.n
        order = np.argsort((self.t0[:n] + self.t1[:n]) / 2, kind="stable")
        count = self.count[:n][order]
        prob = np.where(count[:, None] > 0, self.prob[:n][order] / np.maximum(count, 1)[:, None], np.nan)
        noise_n = self.noise_n[:n][order]
        return {"t": ((self.t0[:n] + self.t1[:n]) / 2)[order], "prob": prob, "p_fault_max": self.pf_max[:n][order],
                "windows": count, "rejected": self.rejected[:n][order],
                "noise": np.where(noise_n > 0, self.noise[:n][order] / np.maximum(noise_n, 1), np.nan)}
