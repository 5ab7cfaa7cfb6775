"""OKS-based non-maximum suppression over the pose instances of one image.

Semantics of mmpose 1.3.2 evaluation/functional/nms.py (oks_iou, oks_nms): instances are visited in
descending score order and every later one whose OKS with a kept instance exceeds `thr` is dropped.
"""
from __future__ import annotations

import numpy as np


def oks_iou(g: np.ndarray, d: np.ndarray, area_g: float, area_d: np.ndarray, sigmas: np.ndarray,
            vis_thr: float | None = None) -> np.ndarray:
    """OKS between one instance g (K, 3) and instances d (N, K, 3); areas as in COCO (scale w*h)."""
    g, d = np.asarray(g, np.float64), np.asarray(d, np.float64)
    var = (np.asarray(sigmas, np.float64) * 2) ** 2
    out = np.zeros(len(d), np.float32)
    for n in range(len(d)):
        sq = (d[n, :, 0] - g[:, 0]) ** 2 + (d[n, :, 1] - g[:, 1]) ** 2
        e = sq / var / ((area_g + area_d[n]) / 2 + np.spacing(1)) / 2
        if vis_thr is not None:
            e = e[(g[:, 2] > vis_thr) & (d[n, :, 2] > vis_thr)]
        out[n] = np.exp(-e).sum() / len(e) if len(e) else 0.0
    return out


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray,
            thr: float = 0.9, vis_thr: float | None = None) -> np.ndarray:
    """Indices to keep. keypoints (N, K, 3) with per-keypoint scores as the third value."""
    keypoints = np.asarray(keypoints, np.float64)
    if len(keypoints) == 0:
        return np.zeros(0, np.int64)
    areas = np.asarray(areas, np.float64)
    order = np.asarray(scores).argsort()[::-1]
    keep = []
    while len(order):
        i = order[0]
        keep.append(i)
        ovr = oks_iou(keypoints[i], keypoints[order[1:]], areas[i], areas[order[1:]], sigmas, vis_thr)
        order = order[np.where(ovr <= thr)[0] + 1]
    return np.asarray(keep, np.int64)
