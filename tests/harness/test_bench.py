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
