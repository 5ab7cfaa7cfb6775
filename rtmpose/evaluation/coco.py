"""COCO-style keypoint AP through the real COCO API (pycocotools; xtcocotools for CrowdPose).

Result handling follows mmpose 1.3.2 evaluation/metrics/coco_metric.py (CocoMetric) and
coco_wholebody_metric.py: per-image de-duplication by instance id, `bbox_keypoint` rescoring
(bbox score x mean of the keypoint scores above `keypoint_score_thr`), OKS-NMS (`nms_thr` 0.9) with
area = product of the aspect-fixed box scale, then COCOeval with the data set's sigmas.

Modes: 'coco' (COCO, AP-10K, synthetic; pycocotools), 'crowdpose' (xtcocotools 'keypoints_crowd',
use_area False, easy/medium/hard), 'wholebody' (body/foot/face/hand/whole-body AP: one pycocotools
COCOeval per part over that part's keypoints and sigmas, which is what xtcocotools' keypoints_<part>
types compute; tests check the equality against xtcocotools, which `make install` builds for this numpy).
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rtmpose.errors import Error
from rtmpose.evaluation.nms import oks_nms

COCO_STATS = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl')
CROWD_STATS = ('AP', 'AP50', 'AP75', 'AR', 'AR50', 'AR75', 'AP_easy', 'AP_medium', 'AP_hard')
# COCO-WholeBody part sizes in the 133-point order (mmpose CocoWholeBodyMetric body_num, foot_num, ...)
WHOLEBODY_PARTS = (('body', 17, 'keypoints'), ('foot', 6, 'foot_kpts'), ('face', 68, 'face_kpts'),
                   ('lefthand', 21, 'lefthand_kpts'), ('righthand', 21, 'righthand_kpts'))


@dataclass
class Predictions:
    """Top-down predictions, one row per evaluated box (ground-truth or detected)."""
    image_ids: np.ndarray        # (N,)
    instance_ids: np.ndarray     # (N,) annotation id or detection index; duplicates are dropped
    keypoints: np.ndarray        # (N, K, 2) image pixels
    keypoint_scores: np.ndarray  # (N, K)
    bbox_scores: np.ndarray      # (N,)
    areas: np.ndarray            # (N,) scale_w * scale_h of the aspect-fixed box (for OKS-NMS)
    bboxes: np.ndarray | None = None  # (N, 4) input boxes x, y, w, h; written to the results as mmpose does

    @staticmethod
    def concat(parts: Sequence[Predictions]) -> Predictions:
        fields = ('image_ids', 'instance_ids', 'keypoints', 'keypoint_scores', 'bbox_scores', 'areas')
        out = Predictions(*[np.concatenate([getattr(p, f) for p in parts]) for f in fields])
        if all(p.bboxes is not None for p in parts):
            out.bboxes = np.concatenate([p.bboxes for p in parts])
        return out


def rescore(keypoint_scores: np.ndarray, bbox_scores: np.ndarray, thr: float = 0.2) -> np.ndarray:
    """mmpose 'bbox_keypoint' score: bbox score x mean of the keypoint scores above thr (0 if none)."""
    ks = np.asarray(keypoint_scores, np.float64)
    valid = ks > thr
    n = valid.sum(-1)
    mean = np.where(n > 0, (ks * valid).sum(-1) / np.maximum(n, 1), 0.0)
    return np.asarray(bbox_scores, np.float64) * mean


def results_list(pred: Predictions, sigmas: Sequence[float], score_mode: str = 'bbox_keypoint',
                 keypoint_score_thr: float = 0.2, nms_thr: float | None = 0.9,
                 category_id: int = 1) -> list[dict]:
    """COCO results (one dict per kept instance) after de-duplication, rescoring and OKS-NMS."""
    sigmas = np.asarray(sigmas, np.float64)
    if score_mode == 'bbox_keypoint':
        scores = rescore(pred.keypoint_scores, pred.bbox_scores, keypoint_score_thr)
    elif score_mode == 'bbox':
        scores = np.asarray(pred.bbox_scores, np.float64)
    elif score_mode == 'keypoint':
        scores = np.asarray(pred.keypoint_scores, np.float64).mean(-1)
    else:
        raise Error(f'score_mode {score_mode!r}: expected bbox_keypoint, bbox or keypoint')
    by_image: dict[int, list[int]] = defaultdict(list)
    for i, img in enumerate(pred.image_ids.tolist()):
        by_image[int(img)].append(i)
    out = []
    for img, rows in by_image.items():
        # sort by instance id and drop repeats (padding of distributed samplers), as CocoMetric does
        rows = sorted(rows, key=lambda r: pred.instance_ids[r])
        rows = [r for j, r in enumerate(rows) if j == 0 or pred.instance_ids[r] != pred.instance_ids[rows[j - 1]]]
        kpts = np.concatenate([pred.keypoints[rows], pred.keypoint_scores[rows][..., None]], -1)
        if nms_thr is not None:
            keep = oks_nms(kpts, scores[rows], pred.areas[rows], sigmas, nms_thr)
        else:
            keep = np.arange(len(rows))
        for k in keep:
            res = {'image_id': img, 'category_id': category_id,
                   'keypoints': kpts[k].reshape(-1).astype(float).tolist(), 'score': float(scores[rows[k]])}
            if pred.bboxes is not None:
                # with a 'bbox' the COCO API takes a detection's area from the box, not the keypoints
                res['bbox'] = [float(v) for v in pred.bboxes[rows[k]]]
            out.append(res)
    return out


def _load_gt(gt: str | os.PathLike | dict) -> dict:
    if isinstance(gt, dict):
        return copy.deepcopy(gt)
    path = os.fspath(gt)
    if not os.path.isfile(path):
        raise Error(f'{path}: annotation file not found')
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Error(f'{path}: not valid JSON ({e})') from None


def _coco(gt_dict: dict, module: str = 'pycocotools'):
    if module == 'pycocotools':
        from pycocotools.coco import COCO
    else:
        from xtcocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = gt_dict
        c.createIndex()
    return c


def _run_cocoeval(gt_dict: dict, results: list[dict], sigmas: np.ndarray, names: Sequence[str]) -> dict:
    from pycocotools.cocoeval import COCOeval
    gt = _coco(gt_dict)
    if not results:
        return {n: 0.0 for n in names}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(copy.deepcopy(results))
        ev = COCOeval(gt, dt, 'keypoints')
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {n: float(v) for n, v in zip(names, ev.stats)}


def _crowdpose_eval(gt_dict: dict, results: list[dict], sigmas: np.ndarray, gt_path: str | None) -> dict:
    try:
        from xtcocotools.cocoeval import COCOeval
    except (ImportError, ValueError):   # absent, or its wheel built against numpy 1 ('dtype size changed')
        raise Error('CrowdPose evaluation needs xtcocotools built for this numpy: '
                    '.venv/bin/pip install cython && .venv/bin/pip install --no-build-isolation '
                    '--no-binary xtcocotools xtcocotools') from None
    import tempfile

    from xtcocotools.coco import COCO
    if not results:
        return {n: 0.0 for n in CROWD_STATS}
    with tempfile.TemporaryDirectory() as tmp:
        # the easy/medium/hard split re-reads both files by name (xtcocotools get_type_result)
        if gt_path is None:
            gt_path = os.path.join(tmp, 'gt.json')
            with open(gt_path, 'w') as f:
                json.dump(gt_dict, f)
        res_path = os.path.join(tmp, 'results.keypoints.json')
        with open(res_path, 'w') as f:
            json.dump(results, f)
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(gt_path)
            dt = gt.loadRes(res_path)
            ev = COCOeval(gt, dt, 'keypoints_crowd', np.asarray(sigmas), use_area=False)
            ev.params.useSegm = None
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
    return {n: float(v) for n, v in zip(CROWD_STATS, ev.stats)}


def _wholebody_part_gt(gt_dict: dict, start: int, n: int, key: str) -> dict:
    """A copy of the ground truth whose 'keypoints' are one part's, with its visible count."""
    out = dict(gt_dict)
    anns = []
    for a in gt_dict['annotations']:
        a = dict(a)
        if 'foot_kpts' in a:  # official COCO-WholeBody layout: body in 'keypoints', parts separate
            kp = a[key]
        else:                 # flattened 133-point layout
            kp = a['keypoints'][start * 3:(start + n) * 3]
        a['keypoints'] = list(kp)
        a['num_keypoints'] = int(np.count_nonzero(np.asarray(kp, np.float64)[2::3] > 0))
        anns.append(a)
    out['annotations'] = anns
    return out


def _extent(flat: list[float]) -> list[float]:
    x, y = np.asarray(flat[0::3]), np.asarray(flat[1::3])
    return [float(x.min()), float(y.min()), float(x.max() - x.min()), float(y.max() - y.min())]


def _wholebody_eval(gt_dict: dict, results: list[dict], sigmas: np.ndarray) -> dict:
    metrics = {}
    total = sum(n for _, n, _ in WHOLEBODY_PARTS)
    if len(sigmas) != total:
        raise Error(f'wholebody evaluation needs {total} sigmas, got {len(sigmas)}')
    start = 0
    # xtcocotools takes every part's detection area from the result's 'bbox' or else from the body
    # keypoints (mmpose writes only those under 'keypoints'): give each part that same box
    results = [r if 'bbox' in r else dict(r, bbox=_extent(r['keypoints'][:17 * 3])) for r in results]
    for part, n, key in WHOLEBODY_PARTS:
        part_gt = _wholebody_part_gt(gt_dict, start, n, key)
        part_res = [dict(r, keypoints=r['keypoints'][start * 3:(start + n) * 3]) for r in results]
        stats = _run_cocoeval(part_gt, part_res, sigmas[start:start + n], COCO_STATS)
        metrics.update({f'{part}/{k}': v for k, v in stats.items()})
        start += n
    # whole body: all 133 points (the official layout concatenates body+foot+face+hands in this order)
    full = dict(gt_dict)
    anns = []
    for a in gt_dict['annotations']:
        a = dict(a)
        if 'foot_kpts' in a:
            a['keypoints'] = [v for _, _, key in WHOLEBODY_PARTS for v in a[key]]
        a['num_keypoints'] = int(np.count_nonzero(np.asarray(a['keypoints'], np.float64)[2::3] > 0))
        anns.append(a)
    full['annotations'] = anns
    stats = _run_cocoeval(full, results, sigmas, COCO_STATS)
    metrics.update({f'wholebody/{k}': v for k, v in stats.items()})
    metrics['AP'], metrics['AR'] = metrics['wholebody/AP'], metrics['wholebody/AR']
    return metrics


def keypoint_metrics(gt: str | os.PathLike | dict, pred: Predictions, sigmas: Sequence[float],
                     mode: str = 'coco', score_mode: str = 'bbox_keypoint', keypoint_score_thr: float = 0.2,
                     nms_thr: float | None = 0.9, results_file: str | None = None) -> dict[str, float]:
    """AP/AR of top-down predictions against a COCO-style ground-truth file (or dict)."""
    gt_path = None if isinstance(gt, dict) else os.fspath(gt)
    gt_dict = _load_gt(gt)
    sigmas = np.asarray(sigmas, np.float64)
    if pred.keypoints.shape[1] != len(sigmas):
        raise Error(f'predictions have {pred.keypoints.shape[1]} keypoints but the data set has {len(sigmas)}')
    results = results_list(pred, sigmas, score_mode, keypoint_score_thr, nms_thr)
    if results_file:
        from rtmpose.io import write_json_atomic
        write_json_atomic(results_file, results)
    if mode == 'coco':
        return _run_cocoeval(gt_dict, results, sigmas, COCO_STATS)
    if mode == 'crowdpose':
        return _crowdpose_eval(gt_dict, results, sigmas, gt_path)
    if mode == 'wholebody':
        return _wholebody_eval(gt_dict, results, sigmas)
    raise Error(f'evaluation mode {mode!r}: expected coco, crowdpose or wholebody')
