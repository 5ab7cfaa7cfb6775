"""The deploy stage's accuracy machinery: per-image COCO AP and its paired bootstrap, and the gate refusing a
deliberately wrong artifact (real exports, real COCOeval)."""
import csv
import json

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from rtmpose.harness.accuracy import DeploySettings, image_eval, paired_delta, run_deploy
from rtmpose.seeded import seeded_state_dict
from tests.pose_checks import assert_ranking_decided, input_dependent, label_split_with_predictions

SIGMAS = np.full(17, 0.079)


def _gt_and_results(noise: float, seed: int = 0, n_img: int = 12):
    rng = np.random.default_rng(seed)
    images, anns, res = [], [], []
    for i in range(n_img):
        images.append({'id': i + 1, 'width': 400, 'height': 400, 'file_name': f'{i}.jpg'})
        for j in range(2):
            x, y, w, h = rng.uniform(0, 200), rng.uniform(0, 200), rng.uniform(60, 150), rng.uniform(80, 180)
            kx, ky = rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17)
            kp = np.stack([kx, ky, np.full(17, 2.0)], 1)
            anns.append({'id': len(anns) + 1, 'image_id': i + 1, 'category_id': 1, 'iscrowd': 0,
                         'bbox': [x, y, w, h], 'area': w * h, 'keypoints': kp.reshape(-1).tolist(), 'num_keypoints': 17})
            pk = kp.copy()
            pk[:, :2] += rng.normal(0, noise * (1 + (i % 4)), (17, 2))
            res.append({'image_id': i + 1, 'category_id': 1, 'keypoints': pk.reshape(-1).tolist(),
                        'score': float(rng.uniform(0.3, 1))})
    gt = {'images': images, 'annotations': anns, 'categories': [{'id': 1, 'name': 'person'}]}
    return gt, res


def test_per_image_ap_equals_cocoeval_and_bootstrap_is_paired():
    gt, res = _gt_and_results(noise=4.0)
    ev = image_eval(gt, res, SIGMAS)
    all_images = np.arange(len(ev.img_ids))
    assert 0.05 < ev.ap < 0.99
    assert ev.ap_of(all_images) == pytest.approx(ev.ap, abs=1e-12)
    # a subset: pycocotools on only those images gives the same number
    keep = {1, 3, 4, 8, 11}
    sub_gt = dict(gt, images=[im for im in gt['images'] if im['id'] in keep],
                  annotations=[a for a in gt['annotations'] if a['image_id'] in keep])
    sub = image_eval(sub_gt, [r for r in res if r['image_id'] in keep], SIGMAS)
    idx = np.asarray([ev.img_ids.index(i) for i in sorted(keep)])
    assert ev.ap_of(idx) == pytest.approx(sub.ap, abs=1e-12)
    # paired: the same predictions give exactly zero; worse predictions a negative interval
    assert paired_delta(ev, ev, 200, 0) == (0.0, 0.0, 0.0)
    _, worse = _gt_and_results(noise=9.0)
    ev_worse = image_eval(gt, worse, SIGMAS)
    d, lo, hi = paired_delta(ev, ev_worse, 300, 0)
    assert d < 0 and lo <= d <= hi and hi < 0
    assert paired_delta(ev, ev_worse, 300, 0) == (d, lo, hi)          # seeded


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    from rtmpose import build_model
    from rtmpose.data.synthetic import make_synthetic
    tmp = tmp_path_factory.mktemp('deploy')
    data = tmp / 'syn'
    make_synthetic(data, seed=1, num_train=4, num_val=4, width=128, height=128, max_people=2, progress=False)
    model = build_model('rtmpose-t', input_size=(64, 64), sigma=(1.63, 1.89))
    # seeded weights, BN statistics from the val crops: logits of order 1 with clear peaks, varying with the input
    # (seed 11: 98 % of the keypoints have a decided argmax, the people's scores are 3x the needed 2 x tol apart)
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=11))
    input_dependent(model, data)
    # val labels from the model's own predictions plus per-person noise: its AP lies strictly between 0 and 1
    # (on the synthetic labels it is 0, and a delta AP of 0 would say nothing)
    labels = label_split_with_predictions(model, data)
    ck = tmp / 'final.pth'
    torch.save({'state_dict': model.state_dict(),
                'config': {'model': 'rtmpose-t', 'dataset': 'synthetic', 'data_dir': str(data),
                           'model_overrides': {'input_size': [64, 64], 'sigma': [1.63, 1.89]}}}, ck)
    s = DeploySettings(checkpoint=str(ck), data_dir=str(data), targets=['onnxruntime:fp32', 'ncnn:int8'],
                       calibration_count=4, bootstrap=50, warmup=2, runs=5, choices=False,
                       exports=str(tmp / 'exports'), out=str(tmp / 'out'))
    return tmp, s, labels


def _rows(path):
    with open(path) as f:
        return {(r['backend'], r['precision']): r for r in csv.DictReader(f)}


def test_good_artifact_passes_and_is_timed_a_perturbed_one_is_refused(tiny_run):
    from rtmpose.evaluation.coco import rescore
    tmp, s, labels = tiny_run
    assert run_deploy(s, mlflow=False) == 0
    rows = _rows(tmp / 'out' / 'accuracy.csv')
    ref, good = rows[('pytorch', 'fp32')], rows[('onnxruntime', 'fp32')]
    assert good['gate'] == 'pass' and float(good['latency_ms_median']) > 0
    assert 0.0 < float(ref['AP']) < 1.0
    # ONNX Runtime differs from PyTorch by float32 rounding, at most `tol` per logit (tests/pose_checks.py):
    # decided keypoints (top-two margin > 2 x tol) land on the same bins; only they are labelled, and the
    # people's ranking has margin, so the AP is the same, exactly. At most 2 of the 85 keypoints are undecided,
    # fewer than the 5 % above the 95th percentile, so the keypoint error's p95 is 0 whatever they do.
    decided, tol = labels['decided'], labels['tol']
    ks = np.minimum(labels['logits'][0].max(-1), labels['logits'][1].max(-1))
    assert_ranking_decided(ks, rescore(ks, np.ones(len(ks)), s.keypoint_score_thr), tol, s.keypoint_score_thr)
    assert (~decided).sum() <= 0.05 * decided.size - 1
    assert float(good['delta_AP']) == 0.0 and good['AP'] == ref['AP']
    assert float(good['kpt_err_px_p95']) == 0.0
    assert rows[('ncnn', 'int8')]['gate'] == 'not exported' and 'ncnn2' in rows[('ncnn', 'int8')]['reason']
    # perturb the cached ONNX after export (and its recorded hash, so the cache takes it as it is)
    folder = next(p for p in (tmp / 'exports').iterdir() if p.is_dir())
    path = folder / 'model.onnx'
    m = onnx.load(str(path))
    init = max(m.graph.initializer, key=lambda t: np.prod(t.dims) if len(t.dims) == 2 else 0)
    w = numpy_helper.to_array(init).copy()
    w[: w.shape[0] // 2] *= -3.0
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    onnx.save(m, str(path))
    from rtmpose.io import sha256_file
    meta = json.loads((folder / 'export.json').read_text())
    meta['files']['model.onnx'] = sha256_file(path)
    (folder / 'export.json').write_text(json.dumps(meta))
    assert run_deploy(s, mlflow=False) == 0
    bad = _rows(tmp / 'out' / 'accuracy.csv')[('onnxruntime', 'fp32')]
    assert bad['gate'] == 'fail' and 'output gate' in bad['reason']
    assert bad['latency_ms_median'].startswith('not timed')
    assert float(bad['kpt_err_px_p95']) > 1.0 and float(bad['delta_AP']) < 0


def test_each_target_is_a_child_run_that_says_why_it_did_not_pass(tmp_path, monkeypatch):
    import mlflow

    from rtmpose.harness.accuracy import _log_targets
    from rtmpose.mlflow_log import start_run
    monkeypatch.setenv('RTMPOSE_NO_MLFLOW', '0')
    monkeypatch.setenv('MLFLOW_TRACKING_URI', f'sqlite:///{tmp_path}/mlflow.db')
    base = dict(model='rtmpose-t', input='128x96', threads=1, executed_precision='fp32')
    rows = [dict(base, backend='onnxruntime', precision='fp32', AP=0.7, delta_AP=0.0, delta_ci_low=0.0,
                 delta_ci_high=0.0, latency_ms_median=4.2, gate='pass', reason=''),
            dict(base, backend='openvino', precision='int8', AP=0.6, delta_AP=-0.1, delta_ci_low=-0.12,
                 delta_ci_high=-0.08, latency_ms_median='not timed (failed the gate)', gate='fail',
                 reason='delta AP interval low -0.1200 < -0.01'),
            dict(base, backend='ncnn', precision='int8', gate='not exported', reason='the ncnn wheel ships no ncnn2int8')]
    with start_run('deploy', 'rtmpose-t-deploy') as parent:
        _log_targets(rows, parent.run_id, True)
    runs = {r.info.run_name: r for r in mlflow.search_runs(experiment_names=['deploy'], output_format='list')}
    ok, bad, skipped = runs['onnxruntime/fp32'], runs['openvino/int8'], runs['ncnn/int8']
    assert {r.data.tags['mlflow.parentRunId'] for r in (ok, bad, skipped)} == {runs['rtmpose-t-deploy'].info.run_id}
    assert ok.data.metrics['latency_ms_median'] == 4.2 and ok.data.tags['gate'] == 'pass'
    assert bad.info.status == 'FINISHED' and 'failed the gate: delta AP interval' in bad.data.tags['mlflow.note.content']
    assert 'latency_ms_median' not in bad.data.metrics and bad.data.metrics['delta_ci_low'] == -0.12
    assert skipped.info.status == 'FAILED' and 'ncnn2int8' in skipped.data.tags['skipped_reason']
    assert 'None' not in ok.data.params.values() and 'gate_reason' not in ok.data.tags
