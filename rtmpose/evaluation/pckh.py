"""MPII PCKh: fraction of keypoints within thr x head size of the ground truth.

Semantics of mmpose 1.3.2 MpiiPCKAccuracy (evaluation/metrics/keypoint_2d_metrics.py) with
keypoint_pck_accuracy (evaluation/functional/keypoint_eval.py): predictions are shifted by +1
(MATLAB indexing of the MPII ground truth), distances are divided by the head size (0.6 x the head
box diagonal), per-joint accuracy counts only visible joints, and the mean weights joints by their
visible counts with pelvis and thorax (indices 6, 7) left out.
"""
from __future__ import annotations

import numpy as np

# MPII joint order: r_ankle, r_knee, r_hip, l_hip, l_knee, l_ankle, pelvis, thorax, upper_neck, head_top,
# r_wrist, r_elbow, r_shoulder, l_shoulder, l_elbow, l_wrist
_GROUPS = {'Head': (9,), 'Shoulder': (13, 12), 'Elbow': (14, 11), 'Wrist': (15, 10), 'Hip': (3, 2),
           'Knee': (4, 1), 'Ankle': (5, 0)}


def per_joint_pck(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, head_size: np.ndarray,
                  thr: float) -> np.ndarray:
    """Per-joint accuracy (K,) in [0, 1]; -1 where a joint is never visible."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    mask = np.asarray(mask, bool).copy()
    norm = np.asarray(head_size, np.float64).reshape(-1).copy()
    mask[norm == 0] = False
    norm[norm <= 0] = 1e6
    dist = np.linalg.norm(pred - gt, axis=-1) / norm[:, None]
    acc = np.full(pred.shape[1], -1.0)
    for k in range(pred.shape[1]):
        if mask[:, k].any():
            acc[k] = float((dist[mask[:, k], k] < thr).mean())
    return acc


def pckh(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, head_size: np.ndarray,
         matlab_shift: bool = True) -> dict[str, float]:
    """PCKh@0.5 ('PCKh'), PCKh@0.1 and the per-part values, in percent as mmpose reports them."""
    pred = np.asarray(pred, np.float64) + (1.0 if matlab_shift else 0.0)
    mask = np.asarray(mask, bool)
    count = mask.sum(0).astype(np.float64)
    count[6:8] = 0  # pelvis and thorax are excluded from the mean
    ratio = count / count.sum()
    out = {}
    for thr, name in ((0.5, 'PCKh'), (0.1, 'PCKh@0.1')):
        acc = 100.0 * per_joint_pck(pred, gt, mask, head_size, thr)
        out[name] = float((acc * ratio).sum())
        if thr == 0.5:
            for part, idx in _GROUPS.items():
                out[f'{part} PCKh'] = float(np.mean([acc[i] for i in idx]))
    return out
