"""Top-down pose for every person of a frame in ONE backend call.

All boxes of a frame are cropped (rtmpose.topdown: padding 1.25, aspect fix, affine warp), normalised
and stacked into one batch; the SimCC outputs are decoded together and mapped back to the image.
`per_crop=True` runs the same work one call per person (the baseline the benchmark compares against).
"""
from __future__ import annotations

import numpy as np

from rtmpose.codec import SimCCCodec
from rtmpose.topdown import bbox_xyxy_to_center_scale, crop_to_image, fix_aspect_ratio, normalize, warp_crop


class PoseEstimator:
    def __init__(self, runner, input_size: tuple[int, int], codec: SimCCCodec, per_crop: bool = False):
        self.runner = runner
        self.input_size = tuple(int(v) for v in input_size)   # (w, h)
        self.codec = codec
        self.per_crop = per_crop

    def crops(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N, 3, h, w) normalised crops, their centres and aspect-fixed scales."""
        w, h = self.input_size
        center, scale = bbox_xyxy_to_center_scale(np.asarray(boxes, np.float32).reshape(-1, 4))
        scale = fix_aspect_ratio(scale, w / h)
        batch = np.stack([warp_crop(image, c, s, self.input_size) for c, s in zip(center, scale)])
        return normalize(batch), center, scale

    def __call__(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints (N, K, 2) in image pixels and scores (N, K) for boxes (N, 4) x1y1x2y2."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, 0, 2), np.float32), np.zeros((0, 0), np.float32)
        x, center, scale = self.crops(image, boxes)
        if self.per_crop:
            outs = [self.runner(x[i:i + 1]) for i in range(len(x))]
            simcc_x = np.concatenate([o[0] for o in outs])
            simcc_y = np.concatenate([o[1] for o in outs])
        else:
            simcc_x, simcc_y = self.runner(x)[:2]
        kpts, scores = self.codec.decode(np.asarray(simcc_x), np.asarray(simcc_y))
        return crop_to_image(kpts, center, scale, self.input_size).astype(np.float32), scores.astype(np.float32)
