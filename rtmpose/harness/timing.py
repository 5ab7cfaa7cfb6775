"""The timing protocol: warm-up, then timed runs, one clock reading per call, summary statistics.

    from rtmpose.harness.timing import measure, summarize, time_callables, time_interleaved
    times_ms = measure(lambda: runner(x))                 # paper protocol: 50 warm-up, 200 timed
    stats = summarize(times_ms)                           # median + bootstrap 95% CI, mean, p90, p99, IQR, drift...
    raw = time_callables({'a': fa, 'b': fb}, block=10)    # interleaved: ratios a/b survive a noisy machine
    t = time_interleaved({'a': fa, 'b': fb})              # the same, plus cold call and CPU cores used per condition

`sync` (e.g. torch.cuda.synchronize) is called before each clock reading so asynchronous GPU work is
inside the measured span.

Statistics (`summarize`), and when they are flagged:
- median with a 95% bootstrap interval (percentile method, `bootstrap` resamples from a fixed seed, so the
  same timings always give the same interval);
- p90 / p99: a tail percentile q is `reliable` only when the expected number of runs beyond it,
  n * (1 - q), is at least `tail_min_count` (default 10, in the spirit of MLPerf's minimum query counts):
  p90 needs n >= 100, p99 needs n >= 1000, so the paper's 200 runs give a p99 flagged unreliable;
- IQR / median, flagged above `iqr_warn` (10%, torch.utils.benchmark's threshold);
- drift: median of the second half of the timed runs over the median of the first half, minus 1,
  flagged when its magnitude exceeds `drift_warn`.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

WARMUP = 50   # the paper's protocol (RTMPose section 4, speed): batch 1, 50 warm-up runs, 200 timed runs
RUNS = 200
TAIL_MIN_COUNT = 10      # expected runs beyond a tail percentile for it to be reported as reliable
IQR_WARN = 0.10          # torch.utils.benchmark warns above IQR/median = 10%
DRIFT_WARN = 0.05        # |median(second half) / median(first half) - 1|
BOOTSTRAP = 2000
BOOTSTRAP_SEED = 0


def _timed_call(fn: Callable[[], Any], sync: Callable[[], None] | None) -> float:
    t0 = time.perf_counter()
    fn()
    if sync is not None:
        sync()
    return (time.perf_counter() - t0) * 1e3


def measure(fn: Callable[[], Any], warmup: int = WARMUP, runs: int = RUNS,
            sync: Callable[[], None] | None = None) -> np.ndarray:
    """Call `fn()` `warmup` times untimed, then `runs` times; returns the per-call latencies in ms."""
    if sync is not None:
        sync()
    for _ in range(warmup):
        fn()
    if sync is not None:
        sync()
    return np.array([_timed_call(fn, sync) for _ in range(runs)], dtype=np.float64)


@dataclass
class Timing:
    """One condition of an interleaved run: timed latencies (ms), the first (cold) call, and the process CPU
    time and wall time summed over the condition's timed blocks (so cores_used = cpu_s / wall_s)."""
    times_ms: np.ndarray
    cold_ms: float = float('nan')
    cpu_s: float = 0.0
    wall_s: float = 0.0
    blocks: list[tuple[float, float]] = field(default_factory=list)   # (cpu_s, wall_s) per block

    @property
    def cores_used(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s > 0 else float('nan')


def time_interleaved(fns: Mapping[str, Callable[[], Any]], warmup: int = WARMUP, runs: int = RUNS,
                     block: int = 10, syncs: Mapping[str, Callable[[], None] | None] | None = None,
                     progress: bool = True) -> dict[str, Timing]:
    """Time several callables interleaved: each is warmed up (its first call timed apart as the cold call),
    then they take turns in blocks of `block` runs (round robin, the starting one rotating every round) until
    each has `runs` timings. Process CPU time (time.process_time, all threads) and wall time are read around
    every block, so each condition's CPU use is its own even though the blocks alternate.

    A slow phase of a shared machine then hits every condition alike, so their ratios stay trustworthy."""
    syncs = dict(syncs or {})
    names = list(fns)
    out: dict[str, Timing] = {}
    times: dict[str, list[float]] = {n: [] for n in names}
    for name in names:
        sync = syncs.get(name)
        if sync is not None:
            sync()
        cold = _timed_call(fns[name], sync)
        measure(fns[name], warmup=max(warmup - 1, 0), runs=0, sync=sync)
        out[name] = Timing(np.empty(0), cold_ms=cold)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=runs * len(names), desc='timing', unit='run', leave=False)
    rnd = 0
    while any(len(times[n]) < runs for n in names):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for name in order:
            todo = min(block, runs - len(times[name]))
            if todo <= 0:
                continue
            sync = syncs.get(name)
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(todo):
                times[name].append(_timed_call(fns[name], sync))
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            t = out[name]
            t.cpu_s += cpu
            t.wall_s += wall
            t.blocks.append((cpu, wall))
            if bar is not None:
                bar.update(todo)
        rnd += 1
    if bar is not None:
        bar.close()
    for name in names:
        out[name].times_ms = np.array(times[name], dtype=np.float64)
    return out


def time_callables(fns: Mapping[str, Callable[[], Any]], warmup: int = WARMUP, runs: int = RUNS,
                   block: int = 10, syncs: Mapping[str, Callable[[], None] | None] | None = None,
                   progress: bool = True) -> dict[str, np.ndarray]:
    """`time_interleaved`, latencies only: name -> latencies in ms (length `runs`)."""
    return {n: t.times_ms for n, t in time_interleaved(fns, warmup, runs, block, syncs, progress).items()}


def bootstrap_median_ci(times_ms: np.ndarray, resamples: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED,
                        level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median: `resamples` resamplings with replacement from a fixed
    seed (reproducible: same timings, same interval)."""
    t = np.asarray(times_ms, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, t.size, size=(resamples, t.size))
    meds = np.median(t[idx], axis=1)
    lo, hi = np.percentile(meds, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def tail_reliable(n: int, q: float, min_count: int = TAIL_MIN_COUNT) -> bool:
    """A q-quantile (q in (0, 1)) is reliable when n * (1 - q) >= min_count runs are expected beyond it."""
    return n * (1 - q) >= min_count - 1e-9


def summarize(times_ms: np.ndarray, iqr_warn: float = IQR_WARN, drift_warn: float = DRIFT_WARN,
              tail_min_count: int = TAIL_MIN_COUNT, bootstrap: int = BOOTSTRAP) -> dict[str, Any]:
    """Latency statistics (ms): mean, median and its bootstrap 95% interval, p90, p99 (each with a
    reliability flag), min, max, std, IQR/median (flagged above `iqr_warn`), drift between the halves
    (flagged above `drift_warn`), FPS (1000 / mean) and the run count."""
    t = np.asarray(times_ms, dtype=np.float64)
    if t.size == 0:
        raise ValueError('no timings to summarise')
    mean, median = float(t.mean()), float(np.median(t))
    q1, q3 = np.percentile(t, [25, 75])
    lo, hi = bootstrap_median_ci(t, bootstrap) if t.size > 1 else (median, median)
    half = t.size // 2
    drift = float(np.median(t[half:]) / np.median(t[:half]) - 1) if half >= 1 else 0.0
    iqr_rel = float((q3 - q1) / median) if median > 0 else float('nan')
    return dict(mean_ms=mean, median_ms=median, median_ci_lo_ms=lo, median_ci_hi_ms=hi,
                p90_ms=float(np.percentile(t, 90)), p90_reliable=tail_reliable(t.size, 0.90, tail_min_count),
                p99_ms=float(np.percentile(t, 99)), p99_reliable=tail_reliable(t.size, 0.99, tail_min_count),
                min_ms=float(t.min()), max_ms=float(t.max()), std_ms=float(t.std()),
                iqr_rel=iqr_rel, iqr_warn=bool(iqr_rel > iqr_warn), drift=drift,
                drift_warn=bool(abs(drift) > drift_warn), fps=1e3 / mean, runs=int(t.size))


def summarize_timing(timing: Timing, threads: int | None = None, **kw) -> dict[str, Any]:
    """`summarize` of a condition's latencies plus its cold call and the CPU cores it actually used,
    flagged (`cores_warn`) when they exceed the requested `threads` by more than 5%."""
    s = summarize(timing.times_ms, **kw)
    cores = timing.cores_used
    s.update(cold_ms=timing.cold_ms, cpu_s=timing.cpu_s, cores_used=cores,
             cores_warn=bool(threads is not None and cores == cores and cores > threads * 1.05))
    return s


def between_process(medians: list[float]) -> dict[str, float]:
    """Spread of one condition's medians over repeats in separate processes: the median of medians,
    min, max and (max - min) / median."""
    m = np.asarray(medians, dtype=np.float64)
    med = float(np.median(m))
    return dict(repeats=int(m.size), repeat_median_ms=med, repeat_min_ms=float(m.min()),
                repeat_max_ms=float(m.max()), repeat_spread_rel=float((m.max() - m.min()) / med) if med else 0.0)
