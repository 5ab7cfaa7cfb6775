"""Skip-frame top-down tracking: detect every K frames, boxes from the last poses in between, IoU
identities, OKS pose NMS and One-Euro smoothing.

Semantics: rtmlib tools/solution/pose_tracker.py (pose_to_bbox with expansion 1.25, greedy IoU matching
at 0.3, new identities only for boxes of area >= 1000) and mmdeploy csrc/mmdeploy/codebase/mmpose/
pose_tracker/smoothing_filter.{h,cpp} (One-Euro filter per frame: beta 0.007, fc_min 1, fc_d 1; velocity
norm per point; keypoints, box centre and box scale are filtered; the scale's speed is taken as an
absolute value per side, where mmdeploy passes the signed value). Boxes from poses use the keypoints
scoring above 0.5 (mmdeploy pose_kpt_thr) and keep the previous box when fewer than two do.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rtmpose.inference.detector import box_iou
from rtmpose.inference.pose_nms import pose_nms


@dataclass(frozen=True)
class TrackerSettings:
    det_interval: int = 1          # K: run the detector on every K-th frame
    expansion: float = 1.25        # pose_to_bbox expansion
    iou_thr: float = 0.3           # IoU tracking threshold
    min_area: float = 1000.0       # rtmlib PoseTracker.MIN_AREA for a new identity
    kpt_thr: float = 0.5           # keypoints used for the box from a pose
    pose_nms_thr: float = 0.5      # OKS NMS
    smooth: bool = True
    beta: float = 0.007
    fc_min: float = 1.0
    fc_d: float = 1.0

    def __post_init__(self):
        if int(self.det_interval) < 1:
            raise ValueError(f'det_interval must be >= 1, got {self.det_interval}')


def pose_to_bbox(keypoints: np.ndarray, scores: np.ndarray | None = None, expansion: float = 1.25,
                 kpt_thr: float = 0.5, fallback: np.ndarray | None = None) -> np.ndarray:
    """Box around the confident keypoints (K, 2), grown by `expansion` about its centre."""
    pts = keypoints if scores is None else keypoints[scores > kpt_thr]
    if len(pts) < 2:
        return np.asarray(fallback if fallback is not None else np.zeros(4), np.float32)
    lo, hi = pts.min(0), pts.max(0)
    c = (lo + hi) / 2
    return np.concatenate([c - (c - lo) * expansion, c + (hi - c) * expansion]).astype(np.float32)


class OneEuroFilter:
    """mmdeploy's frame-based One-Euro filter on an array of points (..., D); norm over the last axis."""

    def __init__(self, x0: np.ndarray, beta: float = 0.007, fc_min: float = 1.0, fc_d: float = 1.0):
        self.x = np.asarray(x0, np.float64).copy()
        self.v = np.zeros_like(self.x)
        self.beta, self.fc_min, self.fc_d = beta, fc_min, fc_d

    @staticmethod
    def alpha(cutoff):
        r = 2.0 * np.pi * cutoff
        return r / (r + 1.0)

    def __call__(self, x1: np.ndarray) -> np.ndarray:
        x1 = np.asarray(x1, np.float64)
        a_v = self.alpha(self.fc_d)
        self.v = (1 - a_v) * self.v + a_v * (x1 - self.x)
        speed = np.linalg.norm(self.v, axis=-1, keepdims=True) if self.v.ndim else np.abs(self.v)
        a_x = self.alpha(self.fc_min + self.beta * speed)
        self.x = (1 - a_x) * self.x + a_x * x1
        return self.x.copy()


@dataclass
class Track:
    track_id: int
    box: np.ndarray                 # box from this frame's pose (drives the next frame's crop)
    keypoints: np.ndarray
    scores: np.ndarray
    filters: tuple = field(default=(), repr=False)


@dataclass
class FrameResult:
    ids: np.ndarray                 # (N,)
    boxes: np.ndarray               # (N, 4) x1y1x2y2, smoothed
    keypoints: np.ndarray           # (N, K, 2), smoothed
    scores: np.ndarray              # (N, K)
    detected: bool                  # the detector ran on this frame


class PoseTracker:
    """Call once per frame in order. `detector(image) -> (boxes, scores)`, `pose(image, boxes) ->
    (keypoints, scores)` (one batched call per frame)."""

    def __init__(self, detector: Callable, pose: Callable, settings: TrackerSettings = TrackerSettings()):
        self.detector, self.pose, self.s = detector, pose, settings
        self.frame = 0
        self.next_id = 0
        self.tracks: list[Track] = []

    def _match(self, box: np.ndarray, last: list[Track]) -> Track | None:
        if not last:
            return None
        ious = box_iou(box, np.stack([t.box for t in last]))
        best = int(np.argmax(ious))
        return last.pop(best) if ious[best] > self.s.iou_thr else None

    def __call__(self, image: np.ndarray) -> FrameResult:
        s = self.s
        detected = self.frame % int(s.det_interval) == 0
        if detected:
            boxes = np.asarray(self.detector(image)[0], np.float32).reshape(-1, 4)
        else:
            boxes = np.stack([t.box for t in self.tracks]) if self.tracks else np.zeros((0, 4), np.float32)
        kpts, scores = self.pose(image, boxes)
        if len(boxes):
            keep = pose_nms(kpts, scores, boxes, s.pose_nms_thr) if kpts.shape[1] == 17 else np.arange(len(boxes))
            boxes, kpts, scores = boxes[keep], kpts[keep], scores[keep]
        last = list(self.tracks)
        tracks = []
        for box_in, k, sc in zip(boxes, kpts, scores):
            box = pose_to_bbox(k, sc, s.expansion, s.kpt_thr, fallback=box_in)
            prev = self._match(box, last)
            area = (box[2] - box[0]) * (box[3] - box[1])
            if prev is None and area < s.min_area:
                continue
            if prev is None:
                tid, filters = self.next_id, ()
                self.next_id += 1
            else:
                tid, filters = prev.track_id, prev.filters
            tracks.append(Track(tid, box, k, sc, filters))
        self.tracks = tracks
        self.frame += 1
        return self._output(tracks, detected)

    def _output(self, tracks: list[Track], detected: bool) -> FrameResult:
        s = self.s
        ids, out_boxes, out_kpts = [], [], []
        for t in tracks:
            center, size = (t.box[:2] + t.box[2:]) / 2, t.box[2:] - t.box[:2]
            if s.smooth:
                if not t.filters:
                    t.filters = tuple(OneEuroFilter(v, s.beta, s.fc_min, s.fc_d)
                                      for v in (t.keypoints, center[None], size[:, None]))
                    k, c, sz = t.keypoints, center, size
                else:
                    k, c = t.filters[0](t.keypoints), t.filters[1](center[None])[0]
                    sz = t.filters[2](size[:, None])[:, 0]
            else:
                k, c, sz = t.keypoints, center, size
            ids.append(t.track_id)
            out_kpts.append(k)
            out_boxes.append(np.concatenate([c - sz / 2, c + sz / 2]))
        n, n_k = len(tracks), (tracks[0].keypoints.shape[0] if tracks else 0)
        return FrameResult(np.asarray(ids, np.int64), np.asarray(out_boxes, np.float32).reshape(n, 4),
                           np.asarray(out_kpts, np.float32).reshape(n, n_k, 2),
                           np.asarray([t.scores for t in tracks], np.float32).reshape(n, n_k), detected)
