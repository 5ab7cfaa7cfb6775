import numpy as np

from rtmpose.harness.timing import measure, summarize, time_callables


def test_measure_counts_warmup_and_runs():
    calls = []
    t = measure(lambda: calls.append(1), warmup=7, runs=13)
    assert len(calls) == 20 and t.shape == (13,) and (t >= 0).all()


def test_time_callables_interleaves_in_blocks():
    log = []
    out = time_callables({'a': lambda: log.append('a'), 'b': lambda: log.append('b')}, warmup=2, runs=6, block=3,
                         progress=False)
    assert log[:4] == ['a', 'a', 'b', 'b']                   # warm-up of each
    assert log[4:] == list('aaabbb' 'bbbaaa')                 # blocks, starting condition rotates
    assert all(v.shape == (6,) for v in out.values())


def test_summarize():
    s = summarize(np.arange(1, 11, dtype=float))
    assert s['mean_ms'] == 5.5 and s['median_ms'] == 5.5 and s['min_ms'] == 1 and s['max_ms'] == 10
    assert abs(s['p90_ms'] - 9.1) < 1e-9 and abs(s['fps'] - 1000 / 5.5) < 1e-9 and s['runs'] == 10


def test_summarize_statistics_and_flags():
    from rtmpose.harness.timing import bootstrap_median_ci, tail_reliable
    rng = np.random.default_rng(3)
    t = rng.gamma(20, 0.5, 200)
    s = summarize(t)
    assert s['median_ci_lo_ms'] <= s['median_ms'] <= s['median_ci_hi_ms']
    assert summarize(t) == s                                     # seeded bootstrap: same timings, same interval
    assert bootstrap_median_ci(t, seed=1) != bootstrap_median_ci(t, seed=2)
    # the tail rule: runs x (1 - q) >= 10
    assert s['p90_reliable'] and not s['p99_reliable']
    assert tail_reliable(1000, 0.99) and not tail_reliable(999, 0.99) and not tail_reliable(99, 0.90)
    q1, q3 = np.percentile(t, [25, 75])
    assert abs(s['iqr_rel'] - (q3 - q1) / np.median(t)) < 1e-12
    # a run that slows down by 20% half-way drifts; a steady one does not
    slow = np.concatenate([np.full(50, 10.0), np.full(50, 12.0)])
    d = summarize(slow)
    assert abs(d['drift'] - 0.2) < 1e-12 and d['drift_warn']
    assert not summarize(np.full(100, 10.0))['drift_warn']
    assert summarize(np.r_[np.full(50, 10.0), np.full(50, 13.0)])['iqr_warn']


def test_time_interleaved_cold_call_and_cores_used():
    import time

    from rtmpose.harness.timing import between_process, summarize_timing, time_interleaved
    calls = []

    def busy():
        calls.append(1)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < (0.02 if len(calls) == 1 else 0.002):   # first call slow
            pass

    def idle():
        time.sleep(0.002)

    out = time_interleaved({'busy': busy, 'idle': idle}, warmup=2, runs=20, block=5, progress=False)
    assert out['busy'].cold_ms >= 20 and out['busy'].times_ms.max() < 20
    assert len(out['busy'].blocks) == 4 and out['busy'].times_ms.shape == (20,)
    # a spinning loop uses its core whenever it runs (a shared machine may give it less than a whole one)
    assert out['idle'].cores_used < 0.3 * out['busy'].cores_used and 0 < out['busy'].cores_used <= 1.2
    s = summarize_timing(out['idle'], threads=1)
    assert s['cold_ms'] == out['idle'].cold_ms and not s['cores_warn']
    assert summarize_timing(out['busy'], threads=1)['cores_used'] == out['busy'].cores_used
    b = between_process([10.0, 11.0, 12.0])
    assert b['repeat_median_ms'] == 11 and abs(b['repeat_spread_rel'] - 2 / 11) < 1e-12 and b['repeats'] == 3
