"""`threads: [1, all]`: `all` (or 0) is every core this process may use, recorded as its number; rows on more
than one thread read per core against the per-core peak; the paper's figure stands beside the all-cores row."""
import argparse
import csv

import pytest

import rtmpose.system
from rtmpose.errors import Error
from rtmpose.harness.bench import BenchConfig, _conditions, thread_counts
from rtmpose.settings import resolve


def test_all_and_zero_resolve_to_the_usable_cores(monkeypatch):
    assert thread_counts([1, 'all'], cores=8) == [1, 8] and thread_counts([0, 1], cores=4) == [4, 1]
    assert thread_counts([1, 'all', 0], cores=1) == [1]          # one core: 1 thread is already all of them
    monkeypatch.setattr(rtmpose.system, 'usable_cores', lambda: 3)
    assert BenchConfig(threads=[1, 'all']).thread_counts() == [1, 3]
    conds = _conditions(BenchConfig(models=['rtmpose-t'], peers=['tinypose-128x96'], backends=['onnxruntime'],
                                    threads=[1, 'all']))
    assert [(c.model, c.threads, c.all_cores) for c in conds] == [
        ('rtmpose-t', 1, False), ('rtmpose-t', 3, True), ('tinypose-128x96', 1, False), ('tinypose-128x96', 3, True)]
    # an explicit count that covers the cores is all cores too
    assert [c.all_cores for c in _conditions(BenchConfig(models=['rtmpose-t'], peers=[], backends=['onnxruntime'],
                                                         threads=[4]))] == [True]


def test_usable_cores_is_the_affinity_mask(monkeypatch):
    import os
    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 5}, raising=False)
    assert rtmpose.system.usable_cores() == 2


@pytest.mark.parametrize('bad', [[-1], ['two'], [1.5], [True], []])
def test_bad_thread_values_are_one_line_errors(bad):
    with pytest.raises(Error, match='threads'):
        BenchConfig(threads=bad)


def test_the_other_checks_still_run():
    with pytest.raises(Error, match='sweep_runs'):
        BenchConfig(sweep_runs=0)
    with pytest.raises(Error, match='sweep_batches'):
        BenchConfig(sweep_batches=[0])


def test_params_set_and_flag_accept_all(tmp_path):
    params = tmp_path / 'params.yaml'
    params.write_text('bench:\n  threads: [1, all]\n  sweep_people_threads: [1, 0]\n')
    cfg = resolve(BenchConfig, params=params, section='bench')
    assert cfg.threads == [1, 'all'] and cfg.sweep_people_threads == [1, 0]
    assert resolve(BenchConfig, params=params, section='bench', sets=['threads=[all]']).threads == ['all']
    with pytest.raises(Error, match='threads'):
        resolve(BenchConfig, params=params, section='bench', sets=['threads=[every]'])
    from rtmpose.harness.cli import configure
    p = argparse.ArgumentParser()
    configure(p)
    assert p.parse_args(['--threads', '1', 'all']).threads == [1, 'all']
    assert p.parse_args(['--threads', 'ALL', '0']).threads == ['all', 0]
    with pytest.raises(SystemExit):
        p.parse_args(['--threads', 'many'])


def test_bench_at_1_thread_and_all_cores_records_per_core_rates(tmp_path, monkeypatch):
    """A shrunken real run at [1, all] with two usable cores: both rows, their thread counts, the rate per core
    against the per-core peak, and the paper's figure beside the all-cores row only."""
    from rtmpose.harness.bench import run_bench, write_reports
    monkeypatch.setattr(rtmpose.system, 'usable_cores', lambda: 2)
    cfg = BenchConfig(models=['rtmpose-t'], peers=[], backends=['onnxruntime'], threads=[1, 'all'], spans=['model'],
                      warmup=1, runs=3, block=3, external=[], exports=str(tmp_path / 'exp'), out=str(tmp_path / 'rep'),
                      mlflow=False)
    rows, floor = run_bench(cfg, progress=False)
    write_reports(rows, floor, cfg)
    table = list(csv.DictReader(open(tmp_path / 'rep' / 'latency.csv')))
    assert [(r['threads'], r['cores'], r['all_cores']) for r in table] == [('1', '2', 'False'), ('2', '2', 'True')]
    one, both = table
    for r, n in ((one, 1), (both, 2)):
        rate, per_core = float(r['achieved_gflops_per_s']), float(r['gmacs_per_core'])
        assert r['executed_precision'] == 'fp32' and r['cores_for_peak'] == str(n)
        assert per_core == pytest.approx(rate / n, rel=1e-3)
        assert float(r['peak_gmacs_per_core']) == pytest.approx(floor['peak_gmacs'], rel=1e-3)
        assert float(r['peak_gmacs']) == pytest.approx(n * floor['peak_gmacs'], rel=1e-3)
        assert float(r['fraction_of_peak']) == pytest.approx(per_core / floor['peak_gmacs'], rel=2e-3)
    # the paper's "1 thread" figure is not one core in fp32: it is set against the all-cores row only
    assert one['ratio_to_paper'] == '' and float(both['ratio_to_paper']) == pytest.approx(
        float(both['mean_ms']) / 3.2, rel=1e-3)
    md = (tmp_path / 'rep' / 'summary.md').read_text()
    assert '| rtmpose-t | onnxruntime | fp32 | 2 (all) | model | ok |' in md
    assert '% of per-core peak' in md and 'all-cores rows' in md
    assert 'Ratios to RTMPose-t (ONNX Runtime, 2 threads' in md
