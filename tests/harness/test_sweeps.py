"""The people sweep on a real dynamic-batch ONNX Runtime export: batched vs per-crop, the CSV, plot and the
measured real-time sentences; the batch sweep's per-image figures."""
import csv

from rtmpose.harness.bench import BenchConfig
from rtmpose.harness.sweeps import people_ratios, realtime_sentences, sweep_command


def _cfg(tmp_path, **kw):
    return BenchConfig(models=['rtmpose-t'], sweep_people=[1, 3], sweep_people_threads=[1], sweep_warmup=1,
                       sweep_runs=4, block=2, sweep_batches=[1, 2], threads=[1], mlflow=False,
                       sweep_exports=str(tmp_path / 'exp'), out=str(tmp_path / 'rep'), **kw)


def test_people_sweep_writes_curve_and_statements(tmp_path):
    cfg = _cfg(tmp_path)
    assert sweep_command(cfg, 'people', progress=False) == 0
    rows = list(csv.DictReader(open(tmp_path / 'rep' / 'sweep_people.csv')))
    assert {(r['mode'], r['people']) for r in rows} == {('batched', '1'), ('batched', '3'), ('per-crop', '1'),
                                                        ('per-crop', '3')}
    for r in rows:
        assert float(r['median_ci_lo_ms']) <= float(r['median_ms']) <= float(r['median_ci_hi_ms'])
        assert abs(float(r['fps']) * float(r['median_ms']) - 1e3) < 1 and r['runs'] == '4'
    for ext in ('png', 'svg'):
        assert (tmp_path / 'rep' / f'sweep_people.{ext}').stat().st_size > 1000
    md = (tmp_path / 'rep' / 'sweep_people.md').read_text()
    assert 'rtmpose-t: 3 people in' not in md      # statements are for 6 people; 3 was swept here
    typed = [dict(r, people=int(r['people']), threads=int(r['threads']), fps=float(r['fps']),
                  median_ms=float(r['median_ms']), median_ci_lo_ms=float(r['median_ci_lo_ms']),
                  median_ci_hi_ms=float(r['median_ci_hi_ms'])) for r in rows]
    s = realtime_sentences(typed, people=3, fps=1e-3)
    assert any(x.startswith('rtmpose-t: 3 people in') and 'batched (real time' in x for x in s)
    assert any('up to 3 people' in x for x in s)
    assert len(people_ratios(typed, people=3)) == 1


def test_batch_sweep_per_image(tmp_path):
    cfg = _cfg(tmp_path)
    assert sweep_command(cfg, 'batch', progress=False) == 0
    rows = list(csv.DictReader(open(tmp_path / 'rep' / 'sweep_batch.csv')))
    assert [r['batch'] for r in rows] == ['1', '2']
    b2 = rows[1]
    assert abs(float(b2['ms_per_image']) * 2 - float(b2['median_ms'])) < 1e-2 * float(b2['median_ms'])
    assert float(rows[0]['speedup_per_image_vs_b1']) == 1.0
