import numpy as np
import pytest

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


class FakeClock:
    """Stands in for `time` inside rtmpose.harness.timing: wall and process CPU time advance only when a timed
    function says so. Steps are powers of two, so every sum and difference of readings is exact."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def perf_counter(self):
        return self.wall

    def process_time(self):
        return self.cpu

    def spend(self, wall: float, cores: float):
        self.wall += wall
        self.cpu += wall * cores


def test_time_interleaved_cold_call_and_cores_used(monkeypatch):
    """The protocol on a deterministic clock: the first call is timed apart, warm-up calls are not timed, each
    condition's timed runs and CPU use are its own although the blocks alternate."""
    import types

    import rtmpose.harness.timing as timing
    from rtmpose.harness.timing import between_process, summarize_timing, time_interleaved
    clock = FakeClock()
    monkeypatch.setattr(timing, 'time', types.SimpleNamespace(perf_counter=clock.perf_counter,
                                                              process_time=clock.process_time))
    cold, warm = 2.0 ** -5, 2.0 ** -9               # 31.25 ms and 1.953125 ms, exact in binary
    calls = []

    def busy():                                     # a spinning loop: one core while it runs; first call slow
        calls.append(1)
        clock.spend(cold if len(calls) == 1 else warm, cores=1.0)

    def idle():                                     # a sleep: wall time, no CPU
        clock.spend(warm, cores=0.0)

    def two_threads():                              # two busy threads
        clock.spend(warm, cores=2.0)

    out = time_interleaved({'busy': busy, 'idle': idle, 'two': two_threads}, warmup=2, runs=20, block=5,
                           progress=False)
    assert len(calls) == 1 + 1 + 20                  # cold call, the rest of the warm-up, the timed runs
    assert out['busy'].cold_ms == cold * 1e3 and out['idle'].cold_ms == warm * 1e3
    for t in out.values():
        assert t.times_ms.shape == (20,) and (t.times_ms == warm * 1e3).all()   # the cold call is not a run
        assert len(t.blocks) == 4
    assert out['busy'].blocks == [(5 * warm, 5 * warm)] * 4
    assert out['idle'].blocks == [(0.0, 5 * warm)] * 4
    assert (out['busy'].cores_used, out['idle'].cores_used, out['two'].cores_used) == (1.0, 0.0, 2.0)
    s = summarize_timing(out['idle'], threads=1)
    assert s['cold_ms'] == out['idle'].cold_ms and s['cores_used'] == 0.0 and not s['cores_warn']
    assert summarize_timing(out['busy'], threads=1)['cores_used'] == 1.0
    assert not summarize_timing(out['busy'], threads=1)['cores_warn']
    assert summarize_timing(out['two'], threads=1)['cores_warn']             # 2 cores used, 1 thread asked
    assert not summarize_timing(out['two'], threads=2)['cores_warn']
    b = between_process([10.0, 11.0, 12.0])
    assert b['repeat_median_ms'] == 11 and abs(b['repeat_spread_rel'] - 2 / 11) < 1e-12 and b['repeats'] == 3


@pytest.mark.slow   # wall-clock thresholds: meaningful on an otherwise idle machine only
def test_time_interleaved_on_the_real_clock():
    import time

    from rtmpose.harness.timing import time_interleaved
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
    # a spinning loop uses its core whenever it runs (a shared machine may give it less than a whole one)
    assert out['idle'].cores_used < 0.3 * out['busy'].cores_used and 0 < out['busy'].cores_used <= 1.2
