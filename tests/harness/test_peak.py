"""The peak: calibrated probes through the backends' libraries, a measured FMA loop, the theoretical figure,
and the rule that no recorded row may exceed it."""
import csv
from pathlib import Path

import pytest

from rtmpose.harness.peak import achieved, check_fractions, peak, peak_for_threads, theoretical

LATENCY = Path(__file__).parents[2] / 'reports' / 'bench' / 'latency.csv'


def test_theoretical_from_flags_and_clock():
    t = theoretical({'avx512f', 'fma', 'avx2'}, 3000.0)
    assert t['gmacs'] == 16 * 2 * 3.0 and '16 fp32 lanes' in t['how']
    assert theoretical({'avx2', 'fma'}, 2000.0)['gmacs'] == 8 * 2 * 2.0
    assert theoretical({'sse4_2'}, 2000.0)['gmacs'] is None
    assert 'not derivable' in theoretical({'avx2', 'fma'}, 0)['how']


def test_fraction_check_on_synthetic_rows():
    floor = dict(peak_gmacs=100.0)
    ok = dict(achieved(0.36, 4.0, peak_for_threads(floor, 1)), model='a')       # 90 GMAC/s of 100
    over = dict(achieved(0.36, 3.0, peak_for_threads(floor, 1)), model='b')     # 120 of 100: the peak is wrong
    assert abs(ok['fraction_of_peak'] - 0.9) < 1e-12
    assert check_fractions([ok, over, dict(model='c', fraction_of_peak='')]) == [over]
    # 2 threads on 2 cores: the bound doubles, so the same 120 GMAC/s is 60 per core, 0.6 of the peak
    assert peak_for_threads(floor, 2, cores=2) == 200.0
    two = dict(achieved(0.36, 3.0, peak_for_threads(floor, 2, cores=2), cores=2), model='d')
    assert abs(two['fraction_of_peak'] - 0.6) < 1e-12 and abs(two['gmacs_per_core'] - 60.0) < 1e-9
    assert two['peak_gmacs_per_core'] == 100.0 and check_fractions([two]) == []
    # more threads than cores: the bound stops at the cores (1 core: 120 GMAC/s is over the peak again)
    assert peak_for_threads(floor, 4, cores=2) == 200.0 and peak_for_threads(floor, 2, cores=1) == 100.0
    alone = dict(achieved(0.36, 3.0, peak_for_threads(floor, 2, cores=1), cores=1), model='e')
    assert check_fractions([two, alone]) == [alone]


def test_bound_counts_the_cores_this_process_may_use(monkeypatch):
    import rtmpose.system
    floor = dict(peak_gmacs=100.0)
    monkeypatch.setattr(rtmpose.system, 'usable_cores', lambda: 2)
    assert peak_for_threads(floor, 2) == 200.0 and peak_for_threads(floor, 8) == 200.0
    monkeypatch.setattr(rtmpose.system, 'usable_cores', lambda: 1)
    assert peak_for_threads(floor, 2) == 100.0


def test_peak_is_the_largest_figure():
    p = peak(repeats=2)
    measured = {k: v['gmacs'] for k, v in p['figures'].items() if v.get('gmacs')}
    assert {'onnxruntime_matmul', 'torch_matmul'} <= set(measured)
    assert p['peak_gmacs'] == max(measured.values()) and measured[p['peak_source']] == p['peak_gmacs']
    th = p['figures']['theoretical']
    if th.get('gmacs'):
        probes = max(v for k, v in measured.items() if k != 'theoretical')
        assert th['bound'] == (th['gmacs'] >= probes)


@pytest.mark.skipif(not LATENCY.is_file(), reason='no recorded bench (dvc repro bench)')
def test_recorded_rows_never_exceed_the_peak():
    rows = list(csv.DictReader(LATENCY.open()))
    timed = [r for r in rows if r['status'] == 'ok' and r.get('fraction_of_peak')]
    assert timed, 'the recorded bench has no timed row'
    assert 'peak_gmacs' in rows[0], 'reports/bench/latency.csv predates the bounded peak: rerun rtmpose bench'
    worst = max(timed, key=lambda r: float(r['fraction_of_peak']))
    assert float(worst['fraction_of_peak']) <= 1.0, worst
