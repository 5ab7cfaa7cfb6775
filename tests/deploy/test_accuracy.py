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
    model.load_state_dict(seeded_state_dict(model.state_dict(), seed=5))
    ck = tmp / 'final.pth'
    torch.save({'state_dict': model.state_dict(),
                'config': {'model': 'rtmpose-t', 'dataset': 'synthetic', 'data_dir': str(data),
                           'model_overrides': {'input_size': [64, 64], 'sigma': [1.63, 1.89]}}}, ck)
    s = DeploySettings(checkpoint=str(ck), data_dir=str(data), targets=['onnxruntime:fp32', 'ncnn:int8'],
                       calibration_count=4, bootstrap=50, warmup=2, runs=5, choices=False,
                       exports=str(tmp / 'exports'), out=str(tmp / 'out'))
    return tmp, s


def _rows(path):
    with open(path) as f:
        return {(r['backend'], r['precision']): r for r in csv.DictReader(f)}


def test_good_artifact_passes_and_is_timed_a_perturbed_one_is_refused(tiny_run):
    tmp, s = tiny_run
    assert run_deploy(s, mlflow=False) == 0
    rows = _rows(tmp / 'out' / 'accuracy.csv')
    good = rows[('onnxruntime', 'fp32')]
    assert good['gate'] == 'pass' and float(good['latency_ms_median']) > 0
    assert float(good['delta_AP']) == 0.0 and float(good['kpt_err_px_p95']) < 1e-3
    assert rows[('ncnn', 'int8')]['gate'] == 'not exported' and 'ncnn2' in rows[('ncnn', 'int8')]['reason']
    # perturb the cached ONNX after export (and its recorded hash, so the cache takes it as it is)
    folder = next((tmp / 'exports').iterdir())
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
    assert float(bad['kpt_err_px_p95']) > 1.0
