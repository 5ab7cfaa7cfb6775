"""Our COCO metric wrapper against direct use of pycocotools / xtcocotools on the same results."""
import contextlib
import io
import json

import numpy as np
import pytest

from rtmpose.data.meta import DATASET_META
from rtmpose.errors import Error
from rtmpose.evaluation.coco import COCO_STATS, Predictions, keypoint_metrics, rescore, results_list
from tests.evaluation.conftest import COCO_SIGMAS, make_gt, predictions_from_gt


def direct_pycocotools(gt: dict, results: list, sigmas) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = json.loads(json.dumps(gt))
        coco.createIndex()
        dt = coco.loadRes(json.loads(json.dumps(results)))
        ev = COCOeval(coco, dt, 'keypoints')
        ev.params.kpt_oks_sigmas = np.asarray(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_perfect_predictions_score_one(coco_gt):
    pred = predictions_from_gt(coco_gt, noise=0.0)
    m = keypoint_metrics(coco_gt, pred, COCO_SIGMAS)
    assert set(m) == set(COCO_STATS)
    assert m['AP'] == pytest.approx(1.0) and m['AR'] == pytest.approx(1.0)


@pytest.mark.parametrize('noise,drop', [(3.0, 0.0), (8.0, 0.2), (20.0, 0.0)])
def test_perturbed_equals_direct_pycocotools(coco_gt, noise, drop):
    pred = predictions_from_gt(coco_gt, noise=noise, drop=drop)
    ours = keypoint_metrics(coco_gt, pred, COCO_SIGMAS)
    # the same results, built by hand the way mmpose's CocoMetric does, through pycocotools directly
    scores = rescore(pred.keypoint_scores, pred.bbox_scores, 0.2)
    res = [{'image_id': int(i), 'category_id': 1, 'score': float(s),
            'keypoints': np.concatenate([k, ks[:, None]], 1).reshape(-1).tolist()}
           for i, k, ks, s in zip(pred.image_ids, pred.keypoints, pred.keypoint_scores, scores)]
    # OKS-NMS at 0.9 keeps all of these well separated people
    theirs = direct_pycocotools(coco_gt, res, COCO_SIGMAS)
    assert [ours[n] for n in COCO_STATS] == pytest.approx(list(theirs), abs=1e-12)
    assert 0.0 < ours['AP'] < 1.0


def test_rescore_matches_cocometric_loop():
    rng = np.random.default_rng(0)
    ks, bs = rng.uniform(0, 1, (20, 17)), rng.uniform(0, 1, 20)
    ks[3] = 0.1  # no keypoint above the threshold -> score 0
    for i in range(20):
        valid = [s for s in ks[i] if s > 0.2]
        expect = bs[i] * (sum(valid) / len(valid) if valid else 0)
        assert rescore(ks[i:i + 1], bs[i:i + 1])[0] == pytest.approx(expect)


def test_duplicates_dropped_and_nms_applied(coco_gt):
    pred = predictions_from_gt(coco_gt, noise=1.0)
    twice = Predictions.concat([pred, pred])
    assert len(results_list(twice, COCO_SIGMAS, nms_thr=None)) == len(pred.image_ids)
    # a near copy under another instance id is suppressed by OKS-NMS (OKS > 0.9), kept without NMS
    copy = Predictions(pred.image_ids[:1], pred.instance_ids[:1] + 50, pred.keypoints[:1] + 0.5,
                       pred.keypoint_scores[:1] * 0.5, pred.bbox_scores[:1], pred.areas[:1])
    both = Predictions.concat([pred, copy])
    assert len(results_list(both, COCO_SIGMAS, nms_thr=0.9)) == len(pred.image_ids)
    assert len(results_list(both, COCO_SIGMAS, nms_thr=None)) == len(pred.image_ids) + 1


def test_wrong_keypoint_count_is_one_line_error(coco_gt):
    pred = predictions_from_gt(coco_gt, noise=1.0)
    with pytest.raises(Error, match='keypoints'):
        keypoint_metrics(coco_gt, pred, COCO_SIGMAS[:14])
    with pytest.raises(Error, match='not found'):
        keypoint_metrics('/nonexistent/gt.json', pred, COCO_SIGMAS)


def _split_wholebody(gt: dict) -> dict:
    """The official COCO-WholeBody layout: body in 'keypoints', other parts in their own fields."""
    out = json.loads(json.dumps(gt))
    for a in out['annotations']:
        kp = a['keypoints']
        a['keypoints'], start = kp[:17 * 3], 17
        for key, n in (('foot_kpts', 6), ('face_kpts', 68), ('lefthand_kpts', 21), ('righthand_kpts', 21)):
            a[key] = kp[start * 3:(start + n) * 3]
            start += n
        a['num_keypoints'] = int(np.count_nonzero(np.asarray(a['keypoints'])[2::3] > 0))
    return out


@pytest.mark.filterwarnings('ignore:.*_score.* not found:UserWarning')  # mmpose writes only 'score' too
def test_wholebody_parts_equal_xtcocotools():
    import xtcocotools.cocoeval as xt   # a failure, not a skip: `make install` builds it for this numpy
    from xtcocotools.coco import COCO
    sig = np.asarray(DATASET_META['coco-wholebody'].sigmas)
    flat = make_gt(num_images=4, per_image=2, k=133, seed=3)
    pred = predictions_from_gt(flat, noise=4.0, k=133)
    official = _split_wholebody(flat)
    ours_flat = keypoint_metrics(flat, pred, sig, mode='wholebody')
    ours_official = keypoint_metrics(official, pred, sig, mode='wholebody')
    assert ours_flat == pytest.approx(ours_official)
    # direct xtcocotools as mmpose CocoWholeBodyMetric calls it
    res = results_list(pred, sig)
    cuts = np.cumsum([0, 17, 6, 68, 21, 21])
    for r in res:
        kp = r['keypoints']
        r['keypoints'] = kp[:cuts[1] * 3]
        for (key, a, b) in zip(('foot_kpts', 'face_kpts', 'lefthand_kpts', 'righthand_kpts'), cuts[1:-1], cuts[2:]):
            r[key] = kp[a * 3:b * 3]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = official
        coco.createIndex()
        dt = coco.loadRes(res)
        for i, part in enumerate(('body', 'foot', 'face', 'lefthand', 'righthand', 'wholebody')):
            iou = f'keypoints_{part}'
            s = sig[cuts[i]:cuts[i + 1]] if part != 'wholebody' else sig
            ev = xt.COCOeval(coco, dt, iou, s, use_area=True)
            ev.params.useSegm = None
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert [ours_flat[f'{part}/{n}'] for n in COCO_STATS] == pytest.approx(list(ev.stats), abs=1e-12)


def test_crowdpose_equals_xtcocotools(tmp_path):
    import xtcocotools.cocoeval as xt   # a failure, not a skip: `make install` builds it for this numpy
    from xtcocotools.coco import COCO
    sig = np.asarray(DATASET_META['crowdpose'].sigmas)
    gt = make_gt(num_images=8, per_image=3, k=14, seed=5, crowd_index=True)
    for a in gt['annotations']:
        a.pop('area')
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    pred = predictions_from_gt(gt, noise=5.0, k=14)
    ours = keypoint_metrics(str(path), pred, sig, mode='crowdpose')
    res_path = tmp_path / 'res.json'
    res_path.write_text(json.dumps(results_list(pred, sig)))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
        ev = xt.COCOeval(coco, coco.loadRes(str(res_path)), 'keypoints_crowd', sig, use_area=False)
        ev.params.useSegm = None
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert [ours[k] for k in ('AP', 'AP50', 'AP75', 'AR', 'AR50', 'AR75', 'AP_easy', 'AP_medium', 'AP_hard')] == \
        pytest.approx(list(ev.stats), abs=1e-12)
    assert 0 < ours['AP'] < 1
