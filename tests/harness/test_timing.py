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
