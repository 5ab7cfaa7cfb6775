"""A shrunken real bench run: real export, real ONNX Runtime, CSV and markdown written."""
import csv

from rtmpose.harness.bench import BenchConfig, TopdownE2E, run_bench, bench_image, write_reports


def test_small_bench_writes_reports(tmp_path):
    cfg = BenchConfig(models=['rtmpose-t'], peers=['tinypose-128x96'], backends=['onnxruntime', 'tensorrt'],
                      peer_backends=['onnxruntime'], peer_spans=['model'], warmup=2, runs=5, block=2,
                      external=['blazepose-nope'], exports=str(tmp_path / 'exp'), out=str(tmp_path / 'rep'),
                      mlflow=False)
    rows, floor = run_bench(cfg)
    write_reports(rows, floor, cfg)
    table = list(csv.DictReader(open(tmp_path / 'rep' / 'latency.csv')))
    ok = [r for r in table if r['status'] == 'ok']
    assert {(r['model'], r['backend'], r['span']) for r in ok} == {
        ('rtmpose-t', 'onnxruntime', 'model'), ('rtmpose-t', 'onnxruntime', 'e2e'),
        ('tinypose-128x96', 'onnxruntime', 'model')}
    assert all(float(r['mean_ms']) > 0 and int(r['runs']) == 5 for r in ok)
    for r in ok:   # the per-condition statistics of the issue, all recorded
        assert float(r['median_ci_lo_ms']) <= float(r['median_ms']) <= float(r['median_ci_hi_ms'])
        assert r['p99_reliable'] == 'False' and float(r['cold_ms']) > 0 and 0 < float(r['cores_used'])
        assert 0 < float(r['fraction_of_peak']) <= 1 and abs(float(r['peak_gmacs']) / floor['peak_gmacs'] - 1) < 1e-3
    tiny = [r for r in ok if r['model'] == 'tinypose-128x96'][0]
    assert float(tiny['published_gflops']) == 0.08156 and abs(float(tiny['gflops']) / 0.08156 - 1) < 0.1
    trt = [r for r in table if r['backend'] == 'tensorrt']
    assert trt and all(r['status'].startswith('not run: tensorrt not available') and not r['mean_ms'] for r in trt)
    assert [r['status'] for r in table if r['model'] == 'blazepose-nope'][0].startswith('not run')
    ratios = list(csv.DictReader(open(tmp_path / 'rep' / 'ratios.csv')))
    assert any(r['kind'] == 'e2e_vs_model' for r in ratios)
    assert 'Ratios to RTMPose-t' in (tmp_path / 'rep' / 'summary.md').read_text()


def test_e2e_prepare_matches_core_crop_and_normalize():
    import numpy as np

    from rtmpose.topdown import normalize, warp_crop
    image, bbox = bench_image()
    e2e = TopdownE2E(lambda x: None, None, (192, 256), bbox)
    ref = normalize(warp_crop(image, e2e.center[0], e2e.scale[0], (192, 256)))
    assert np.allclose(e2e.prepare(image), ref, atol=1e-5)


def test_conditions_that_did_not_run_are_failed_mlflow_runs(tmp_path, monkeypatch):
    import mlflow
    import numpy as np

    from rtmpose.harness.bench import log_mlflow
    db = tmp_path / 'mlflow.db'
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '0')
    monkeypatch.setenv('MLFLOW_TRACKING_URI', f'sqlite:///{db}')
    ok = dict(model='rtmpose-t', backend='onnxruntime', precision='fp32', threads=1, span='model', status='ok',
              mean_ms=5.0, median_ms=5.0, _times=np.array([5.0, 5.0]))
    skipped = dict(model='blazepose-lite', backend='mediapipe', precision='fp32', threads=1, span='e2e',
                   status='not run: harness/.venv-mediapipe missing')
    log_mlflow([ok, skipped], {'cpu': 'x'}, dict(peak_source='fma_loop'),
               BenchConfig(mlflow=True, out=str(tmp_path / 'none')))
    runs = mlflow.search_runs(experiment_names=['bench'], output_format='list')
    by_name = {r.info.run_name: r for r in runs}
    (parent,) = [r for r in runs if r.data.tags.get('stage') == 'invocation']   # one run per invocation
    assert parent.info.status == 'FINISHED' and parent.data.params['models'] == 'blazepose-lite rtmpose-t'
    skip = by_name['blazepose-lite/mediapipe/fp32/t1/e2e']
    assert skip.info.status == 'FAILED' and skip.data.tags['skipped'] == 'true'
    assert 'venv-mediapipe missing' in skip.data.tags['skipped_reason'] and not skip.data.metrics
    assert 'venv-mediapipe missing' in skip.data.tags['mlflow.note.content']   # the reason as its description
    done = by_name['rtmpose-t/onnxruntime/fp32/t1/model']
    assert done.info.status == 'FINISHED' and done.data.metrics['latency.a_median_ms'] == 5.0
    for child in (skip, done):
        assert child.data.tags['mlflow.parentRunId'] == parent.info.run_id
