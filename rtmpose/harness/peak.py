"""The physical floor: this machine's single-core peak GFLOP/s, from a small matmul (best of N).

A model's achieved GFLOP/s is its GFLOPs (one multiply-accumulate = one FLOP, the paper's convention)
divided by its latency; the fraction of the peak says how far a backend is from the hardware limit.
The peak is measured in the same MAC convention: an n x n x n matmul is n^3 MACs.
"""
from __future__ import annotations

import time

import numpy as np


def peak_gflops(n: int = 512, repeats: int = 20, threads: int = 1) -> dict[str, float]:
    """Best-of-`repeats` float32 n x n matmul throughput with torch pinned to `threads` threads.

    (numpy's BLAS thread count cannot be pinned after import without extra packages, so torch's
    MKL/OpenBLAS matmul, whose threads torch.set_num_threads controls, is the probe.)"""
    import torch
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal((n, n), dtype=np.float32))
    b = torch.from_numpy(rng.standard_normal((n, n), dtype=np.float32))
    best = float('inf')
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(3):
            a @ b
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
    finally:
        torch.set_num_threads(prev)
    return dict(peak_gflops=float(n) ** 3 / best / 1e9, matmul_n=n, repeats=repeats, threads=threads,
                best_matmul_ms=best * 1e3)


def achieved(gflops: float, latency_ms: float, peak: float) -> dict[str, float]:
    """GFLOP/s a model reached at `latency_ms` and its fraction of the calibrated peak."""
    rate = gflops / (latency_ms / 1e3)
    return dict(achieved_gflops_per_s=rate, fraction_of_peak=rate / peak if peak > 0 else float('nan'))
