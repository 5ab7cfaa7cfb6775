"""The physical floor: the fp32 multiply-accumulate peak of this machine, per core, in GMAC/s.

A model's achieved rate is its GFLOPs (one multiply-accumulate = one FLOP, the paper's convention) over its
latency; "% of peak" is that rate over a peak that truly bounds it. The peak is the best of:

- calibrated probes through the libraries the backends use, each best of `repeats` over n = 256, 512, 1024
  (an n^3 matmul is n^3 MACs): ONNX Runtime's MatMul (its MLAS sgemm, through a one-node ONNX graph) and
  torch's matmul (MKL/oneDNN), both pinned to the requested threads;
- a measured FMA loop: 16 independent AVX-512 (or AVX2) FMA chains in a C function compiled here with the
  system C compiler, i.e. the vector units' fp32 throughput with no memory traffic at all (no real kernel
  can beat it; it needs a C compiler, and says so when there is none);
- the theoretical figure lanes x FMA units x clock, where derivable: lanes from the CPU flags (avx512f: 16
  fp32, avx2+fma: 8), 2 FMA units (the most any such core has, so an upper bound), clock from
  /proc/cpuinfo 'cpu MHz'. A virtual machine reports its nominal clock there, not the turbo clock it runs
  at; the figure is then below the measured probes and is not a bound, and the report says so.

The denominator (`peak_gmacs`) is the largest of these figures, per core. A row on N threads uses at most
min(N, cores) cores: its rate per core (achieved / min(N, cores)) is set against that per-core peak, so "% of
peak" is a per-core efficiency and 1-thread and all-cores rows read on one scale (with SMT two logical cores
share one core's FMA units, so the per-core figure of such a row is a lower bound). A row above 100% means the
peak is wrong: `check_fractions` finds such rows, and the bench prints and records them.
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

SIZES = (256, 512, 1024)
FMA_UNITS = 2     # AVX-512 / AVX2 FMA ports of the widest x86 cores: an upper bound on any of them

_FMA_C = r'''
#include <immintrin.h>
#include <stdint.h>
float fma_chains(uint64_t n) {
#ifdef __AVX512F__
  __m512 a[16]; __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
  for (int k = 0; k < 16; k++) a[k] = _mm512_set1_ps((float)k);
  for (uint64_t i = 0; i < n; i++) {
    #pragma GCC unroll 16
    for (int k = 0; k < 16; k++) a[k] = _mm512_fmadd_ps(a[k], m, c);
  }
  __m512 s = a[0]; for (int k = 1; k < 16; k++) s = _mm512_add_ps(s, a[k]);
  return _mm512_reduce_add_ps(s);
#else
  __m256 a[16]; __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int k = 0; k < 16; k++) a[k] = _mm256_set1_ps((float)k);
  for (uint64_t i = 0; i < n; i++) {
    #pragma GCC unroll 16
    for (int k = 0; k < 16; k++) a[k] = _mm256_fmadd_ps(a[k], m, c);
  }
  float out[8]; __m256 s = a[0]; for (int k = 1; k < 16; k++) s = _mm256_add_ps(s, a[k]);
  _mm256_storeu_ps(out, s); return out[0];
#endif
}
'''


def cpu_flags() -> set[str]:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('flags'):
                return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def fp32_lanes(flags: set[str]) -> int | None:
    if 'avx512f' in flags:
        return 16
    if 'avx2' in flags and 'fma' in flags:
        return 8
    return None


def cpuinfo_mhz() -> float | None:
    try:
        m = re.search(r'^cpu MHz\s*:\s*([\d.]+)', Path('/proc/cpuinfo').read_text(), re.M)
    except OSError:
        return None
    return float(m.group(1)) if m else None


def theoretical(flags: set[str] | None = None, mhz: float | None = None) -> dict[str, Any]:
    """lanes x FMA units x clock (GMAC/s per core), or why it cannot be derived."""
    flags = cpu_flags() if flags is None else flags
    lanes = fp32_lanes(flags)
    mhz = cpuinfo_mhz() if mhz is None else mhz
    if lanes is None:
        return dict(gmacs=None, how='not derivable: no AVX2+FMA or AVX-512 flag in /proc/cpuinfo')
    if not mhz:
        return dict(gmacs=None, how="not derivable: no 'cpu MHz' in /proc/cpuinfo")
    return dict(gmacs=lanes * FMA_UNITS * mhz / 1e3, lanes=lanes, fma_units=FMA_UNITS, mhz=mhz,
                how=f"{lanes} fp32 lanes x {FMA_UNITS} FMA units x {mhz:.0f} MHz (/proc/cpuinfo 'cpu MHz')")


def _best(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _matrices(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    return (rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32))


def probe_torch(threads: int = 1, sizes=SIZES, repeats: int = 10) -> dict[str, Any]:
    """torch.matmul, fp32, `threads` threads: best GMAC/s over `sizes`."""
    import torch
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    best = (0.0, 0)
    try:
        for n in sizes:
            a, b = (torch.from_numpy(x) for x in _matrices(n))
            best = max(best, (n ** 3 / _best(lambda: a @ b, repeats) / 1e9, n))
    finally:
        torch.set_num_threads(prev)
    return dict(gmacs=best[0], n=best[1], how=f'torch {torch.__version__} matmul, best of {repeats}')


def probe_onnxruntime(threads: int = 1, sizes=SIZES, repeats: int = 10) -> dict[str, Any]:
    """ONNX Runtime's MatMul (MLAS sgemm) through a one-node graph, `threads` intra-op threads."""
    import onnxruntime as ort
    from onnx import TensorProto, helper
    best = (0.0, 0)
    for n in sizes:
        io = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [n, n]) for k in 'abc']
        graph = helper.make_graph([helper.make_node('MatMul', ['a', 'b'], ['c'])], 'matmul', io[:2], io[2:])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
        model.ir_version = 9
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=['CPUExecutionProvider'])
        a, b = _matrices(n)
        feed = {'a': a, 'b': b}
        best = max(best, (n ** 3 / _best(lambda: sess.run(None, feed), repeats) / 1e9, n))
    return dict(gmacs=best[0], n=best[1], how=f'onnxruntime {ort.__version__} MatMul, best of {repeats}')


def _fma_library(flags: set[str]) -> tuple[Any, int] | str:
    lanes = fp32_lanes(flags)
    cc = shutil.which(os.environ.get('CC', 'cc')) or shutil.which('gcc')
    if lanes is None:
        return 'no AVX2+FMA or AVX-512 flag'
    if cc is None:
        return 'no C compiler (set CC) to build the FMA loop'
    tmp = Path(tempfile.mkdtemp(prefix='rtmpose-fma-'))
    src, lib = tmp / 'fma.c', tmp / 'fma.so'
    src.write_text(_FMA_C)
    arch = ['-mavx512f'] if lanes == 16 else ['-mavx2']
    res = subprocess.run([cc, '-O2', '-mfma', *arch, '-shared', '-fPIC', '-o', str(lib), str(src)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        return f'the FMA loop did not compile ({(res.stderr.strip().splitlines() or ["?"])[-1][:120]})'
    fn = ctypes.CDLL(str(lib)).fma_chains
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_uint64]
    return fn, lanes


def probe_fma_loop(repeats: int = 30, iterations: int = 100_000, flags: set[str] | None = None) -> dict[str, Any]:
    """16 independent FMA chains of the widest vector unit, one thread: best GMAC/s of `repeats`."""
    got = _fma_library(cpu_flags() if flags is None else flags)
    if isinstance(got, str):
        return dict(gmacs=None, how=f'not measured: {got}')
    fn, lanes = got
    macs = iterations * 16 * lanes
    return dict(gmacs=macs / _best(lambda: fn(iterations), repeats) / 1e9,
                how=f'16 independent {lanes * 32}-bit-vector FMA chains in C, best of {repeats}')


def peak(threads: int = 1, repeats: int = 10) -> dict[str, Any]:
    """All the figures and the denominator: `peak_gmacs` per core (the largest) and which one set it
    (`peak_for_threads` scales it for rows on more threads)."""
    figures = {'onnxruntime_matmul': probe_onnxruntime(1, repeats=repeats),
               'torch_matmul': probe_torch(1, repeats=repeats),
               'fma_loop': probe_fma_loop(repeats=3 * repeats),
               'theoretical': theoretical()}
    measured = {k: v['gmacs'] for k, v in figures.items() if v.get('gmacs')}
    source = max(measured, key=measured.get)
    judge_theoretical(figures)
    return dict(peak_gmacs=measured[source], peak_source=source, threads=threads, figures=figures,
                # the old key, same value: GFLOP/s in the paper's MAC convention
                peak_gflops=measured[source])


def judge_theoretical(figures: dict[str, dict[str, Any]]) -> None:
    """Mark the theoretical figure a bound or not against the best measured probe (call again after a probe
    improves)."""
    th = figures['theoretical']
    probes = [v['gmacs'] for k, v in figures.items() if k != 'theoretical' and v.get('gmacs')]
    if th.get('gmacs') is None or not probes:
        return
    th['how'] = th['how'].split(': below the measured')[0]
    th['bound'] = bool(th['gmacs'] >= max(probes))
    if not th['bound']:
        th['how'] += (f': below the measured {max(probes):.1f} GMAC/s, so the reported clock is not the one the '
                      'core runs at (a virtual machine shows its nominal clock); not a bound')


def cores_for_threads(threads: int, cores: int | None = None) -> int:
    """The cores a row on `threads` threads can use: min(threads, the cores this process may run on)."""
    from rtmpose.system import usable_cores
    return max(1, min(int(threads), cores or usable_cores()))


def peak_for_threads(floor: dict[str, Any], threads: int, cores: int | None = None) -> float:
    """The bound for a row on `threads` threads: per-core peak x min(threads, cores)."""
    return floor['peak_gmacs'] * cores_for_threads(threads, cores)


def achieved(gflops: float, latency_ms: float, peak_gmacs: float, cores: int = 1) -> dict[str, float]:
    """GMAC/s a model reached at `latency_ms` on `cores` cores, per core, and its fraction of the peak.

    `peak_gmacs` is the row's bound (per-core peak x `cores`, peak_for_threads), so the fraction is the rate per
    core over the per-core peak: a per-core efficiency, comparable between 1-thread and all-cores rows."""
    rate = gflops / (latency_ms / 1e3)
    cores = max(1, int(cores))
    return dict(achieved_gflops_per_s=rate, gmacs_per_core=rate / cores, peak_gmacs_per_core=peak_gmacs / cores,
                cores_for_peak=cores, fraction_of_peak=rate / peak_gmacs if peak_gmacs > 0 else float('nan'))


def _num(v) -> float:
    try:
        return float(v if v not in (None, '') else 'nan')
    except (TypeError, ValueError):
        return float('nan')


def check_fractions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows above the per-core peak (fraction of peak > 1, or GMAC/s per core > the per-core peak where the row
    records both): each one proves the peak wrong."""
    out = []
    for r in rows:
        f = _num(r.get('fraction_of_peak'))
        per_core, bound = _num(r.get('gmacs_per_core')), _num(r.get('peak_gmacs_per_core'))
        if f > 1 or per_core > bound * (1 + 1e-9):
            out.append(r)
    return out


def peak_gflops(n: int = 512, repeats: int = 20, threads: int = 1) -> dict[str, float]:
    """torch's n x n matmul alone (kept for callers of the old probe); `peak()` is the bound."""
    p = probe_torch(threads, sizes=(n,), repeats=repeats)
    return dict(peak_gflops=p['gmacs'], matmul_n=n, repeats=repeats, threads=threads)
