"""The timing protocol: warm-up, then timed runs, one clock reading per call, summary statistics.

    from rtmpose.harness.timing import measure, summarize, time_callables
    times_ms = measure(lambda: runner(x))                 # paper protocol: 50 warm-up, 200 timed
    stats = summarize(times_ms)                           # mean/median/p90/min/max (ms), fps
    raw = time_callables({'a': fa, 'b': fb}, block=10)    # interleaved: ratios a/b survive a noisy machine

`sync` (e.g. torch.cuda.synchronize) is called before each clock reading so asynchronous GPU work is
inside the measured span.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

WARMUP = 50   # the paper's protocol (RTMPose section 4, speed): batch 1, 50 warm-up runs, 200 timed runs
RUNS = 200


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


def time_callables(fns: Mapping[str, Callable[[], Any]], warmup: int = WARMUP, runs: int = RUNS,
                   block: int = 10, syncs: Mapping[str, Callable[[], None] | None] | None = None,
                   progress: bool = True) -> dict[str, np.ndarray]:
    """Time several callables interleaved: each is warmed up, then they take turns in blocks of `block`
    runs (round robin, the starting one rotating every round) until each has `runs` timings.

    A slow phase of a shared machine then hits every condition alike, so their ratios stay trustworthy.
    Returns name -> latencies in ms (length `runs`).
    """
    syncs = dict(syncs or {})
    names = list(fns)
    for name in names:
        measure(fns[name], warmup=warmup, runs=0, sync=syncs.get(name))
    times: dict[str, list[float]] = {n: [] for n in names}
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=runs * len(names), desc='timing', unit='run', leave=False)
    rnd = 0
    while any(len(times[n]) < runs for n in names):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for name in order:
            todo = min(block, runs - len(times[name]))
            sync = syncs.get(name)
            for _ in range(todo):
                times[name].append(_timed_call(fns[name], sync))
            if bar is not None:
                bar.update(todo)
        rnd += 1
    if bar is not None:
        bar.close()
    return {n: np.array(t, dtype=np.float64) for n, t in times.items()}


def summarize(times_ms: np.ndarray) -> dict[str, float]:
    """mean, median, p90, min, max, std latency (ms) and FPS (1000 / mean)."""
    t = np.asarray(times_ms, dtype=np.float64)
    if t.size == 0:
        raise ValueError('no timings to summarise')
    mean = float(t.mean())
    return dict(mean_ms=mean, median_ms=float(np.median(t)), p90_ms=float(np.percentile(t, 90)),
                min_ms=float(t.min()), max_ms=float(t.max()), std_ms=float(t.std()), fps=1e3 / mean,
                runs=int(t.size))
