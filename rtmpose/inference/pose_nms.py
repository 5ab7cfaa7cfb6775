"""OKS pose NMS for inference: the evaluation package's oks_nms with COCO sigmas and box areas.

COCO sigmas: mmpose 1.3.2 configs/_base_/datasets/coco.py (sigmas). Threshold 0.5: mmdeploy
csrc/mmdeploy/codebase/mmpose/pose_tracker (pose_nms_thr default).
"""
from __future__ import annotations

import numpy as np

from rtmpose.evaluation.nms import oks_nms

COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89],
                       np.float64) / 10.0
POSE_NMS_THR = 0.5


def pose_nms(keypoints: np.ndarray, scores: np.ndarray, boxes: np.ndarray, thr: float = POSE_NMS_THR,
             sigmas: np.ndarray | None = None) -> np.ndarray:
    """Indices of the people to keep; instance score = mean keypoint score, area = box w * h."""
    keypoints, scores, boxes = np.asarray(keypoints), np.asarray(scores), np.asarray(boxes).reshape(-1, 4)
    if len(keypoints) == 0:
        return np.zeros(0, np.int64)
    if sigmas is None:
        if keypoints.shape[1] != len(COCO_SIGMAS):
            raise ValueError(f'pose_nms: no default sigmas for {keypoints.shape[1]} keypoints')
        sigmas = COCO_SIGMAS
    kpts = np.concatenate([keypoints, scores[..., None]], -1)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return oks_nms(kpts, scores.mean(1), areas, sigmas, thr)
