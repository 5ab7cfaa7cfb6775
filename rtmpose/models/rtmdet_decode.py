"""RTMDet's numpy pre- and post-processing around the raw model outputs: preprocessing, priors, box decoding and
NMS (below the inference layer, so that training can measure box AP with the same decoding).

Semantics of mmdet 3.3.0: test pipeline Resize(keep_ratio) + Pad(114) (datasets/transforms/transforms.py,
mmcv imrescale), DetDataPreprocessor (BGR mean/std), MlvlPointGenerator(offset=0), DistancePointBBoxCoder
(distance2bbox clamped to the padded input), BaseDenseHead._predict_by_feat_single / _bbox_post_process
(per-level score_thr + nms_pre top-k, rescale, min_bbox_size, nms, max_per_img), then the person filter of
mmpose 1.3.2 demo/topdown_demo_with_mmdet.py (score > bbox_thr 0.3, evaluation.functional.nms 0.3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtmpose.models.rtmdet import DET_MEAN, DET_STD, STRIDES


@dataclass(frozen=True)
class DetectorSettings:
    input_size: int = 320
    # model test_cfg (rtmdet_nano_320-8xb32_coco-person.py)
    pre_score_thr: float = 0.05
    nms_pre: int = 1000
    pre_nms_thr: float = 0.6
    max_per_img: int = 100
    min_bbox_size: float = 0.0
    # demo filter (spec: inference pipeline): person score > 0.3, box NMS 0.3
    score_thr: float = 0.3
    nms_thr: float = 0.3


def preprocess(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float]]:
    """BGR uint8 (H, W, 3) -> float32 (1, 3, size, size) and the (w, h) scale factor.

    The longer side goes to `size` (new side = int(side * s + 0.5), bilinear), then bottom/right pad 114.
    """
    padded, scale_factor = resize_pad(image, size)
    x = (padded.astype(np.float32) - np.array(DET_MEAN, np.float32)) / np.array(DET_STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), scale_factor


def resize_pad(image: np.ndarray, size: int) -> tuple[np.ndarray, tuple[float, float]]:
    import cv2
    h, w = image.shape[:2]
    s = min(size / max(h, w), size / min(h, w))
    nw, nh = int(w * s + 0.5), int(h * s + 0.5)
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    out = np.full((max(size, nh), max(size, nw), 3), 114, np.uint8)
    out[:nh, :nw] = resized
    return out, (nw / w, nh / h)


def grid_priors(size: int, strides=STRIDES) -> list[np.ndarray]:
    """Per level, the (H*W, 2) anchor points (x, y) = (col, row) * stride, row-major as mmdet."""
    out = []
    for s in strides:
        n = int(np.ceil(size / s))
        ys, xs = np.meshgrid(np.arange(n, dtype=np.float32) * s, np.arange(n, dtype=np.float32) * s,
                             indexing='ij')
        out.append(np.stack([xs.ravel(), ys.ravel()], -1))
    return out


def box_iou(box: np.ndarray, boxes: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """IoU of one x1y1x2y2 box with (N, 4) boxes; `offset` 1 gives the +1 pixel convention."""
    w = np.maximum(0.0, np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]) + offset)
    h = np.maximum(0.0, np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]) + offset)
    inter = w * h
    area = (box[2] - box[0] + offset) * (box[3] - box[1] + offset)
    areas = (boxes[:, 2] - boxes[:, 0] + offset) * (boxes[:, 3] - boxes[:, 1] + offset)
    return inter / np.maximum(area + areas - inter, np.finfo(np.float32).tiny)


def nms(boxes: np.ndarray, scores: np.ndarray, thr: float, offset: float = 0.0) -> np.ndarray:
    """Greedy NMS: visit by descending score, drop later boxes whose IoU with a kept one exceeds `thr`.

    offset 0 is mmcv's nms op (mmdet test_cfg); offset 1 is mmpose's evaluation.functional.nms (demo).
    """
    boxes = np.asarray(boxes, np.float32)
    order = np.argsort(-np.asarray(scores), kind='stable')
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[box_iou(boxes[i], boxes[rest], offset) <= thr]
    return np.asarray(keep, np.int64)


def decode(outputs: list[np.ndarray], scale_factor: tuple[float, float], settings: DetectorSettings
           ) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs of one image [cls_8, cls_16, cls_32, reg_8, reg_16, reg_32] -> mmdet's detections
    (boxes (N, 4) x1y1x2y2 in original image pixels, scores (N,)), sorted by score, before the demo filter."""
    size = settings.input_size
    n_lv = len(outputs) // 2
    all_boxes, all_scores = [], []
    for cls, reg, pts in zip(outputs[:n_lv], outputs[n_lv:], grid_priors(size)):
        scores = 1.0 / (1.0 + np.exp(-cls[0, 0].reshape(-1).astype(np.float64)))   # person channel
        dist = reg[0].reshape(4, -1).T
        idx = np.nonzero(scores > settings.pre_score_thr)[0]
        idx = idx[np.argsort(-scores[idx], kind='stable')[:settings.nms_pre]]
        p, d = pts[idx], dist[idx]
        b = np.stack([p[:, 0] - d[:, 0], p[:, 1] - d[:, 1], p[:, 0] + d[:, 2], p[:, 1] + d[:, 3]], -1)
        all_boxes.append(b)
        all_scores.append(scores[idx])
    boxes = np.concatenate(all_boxes).astype(np.float32)
    scores = np.concatenate(all_scores).astype(np.float32)
    boxes = np.clip(boxes, 0, size)   # clamp to the padded input (img_shape after Pad)
    boxes /= np.array([scale_factor[0], scale_factor[1]] * 2, np.float32)
    ok = ((boxes[:, 2] - boxes[:, 0]) > settings.min_bbox_size) & ((boxes[:, 3] - boxes[:, 1]) > settings.min_bbox_size)
    boxes, scores = boxes[ok], scores[ok]
    keep = nms(boxes, scores, settings.pre_nms_thr)[:settings.max_per_img]
    return boxes[keep], scores[keep]


def person_filter(boxes: np.ndarray, scores: np.ndarray, settings: DetectorSettings
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The demo's final step: keep score > score_thr, then NMS at nms_thr (+1 pixel areas)."""
    ok = scores > settings.score_thr
    boxes, scores = boxes[ok], scores[ok]
    keep = nms(boxes, scores, settings.nms_thr, offset=1.0)
    return boxes[keep], scores[keep]
