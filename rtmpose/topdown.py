"""Top-down geometry shared by training, evaluation, deployment and the inference pipeline.

Box -> (centre, scale) with padding 1.25, the aspect-ratio fix, the affine warp to the model input,
normalisation (batched, or fused into a reused buffer for a fixed box: BoxCrop), flip test, and the map
from crop coordinates back to the image. Semantics of mmpose
1.3.2: structures/bbox/transforms.py (bbox_xyxy2cs, get_warp_matrix), datasets/transforms/
topdown_transforms.py (TopdownAffine), models/pose_estimators/topdown.py and codecs/utils (flip).
"""
from __future__ import annotations

import numpy as np

from rtmpose.models.rtmpose import MEAN, STD

BBOX_PADDING = 1.25


def bbox_xyxy_to_center_scale(bbox: np.ndarray, padding: float = BBOX_PADDING) -> tuple[np.ndarray, np.ndarray]:
    """(..., 4) x1y1x2y2 -> centre (..., 2), scale (..., 2) = padded width and height."""
    bbox = np.asarray(bbox, dtype=np.float32)
    x1, y1, x2, y2 = np.moveaxis(bbox, -1, 0)
    center = np.stack([x1 + x2, y1 + y2], axis=-1) * 0.5
    scale = np.stack([x2 - x1, y2 - y1], axis=-1) * padding
    return center, scale


def bbox_xywh_to_xyxy(bbox: np.ndarray) -> np.ndarray:
    bbox = np.asarray(bbox, dtype=np.float32).copy()
    bbox[..., 2:4] += bbox[..., 0:2]
    return bbox


def fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow the shorter side so that w / h == aspect_ratio (the model input's)."""
    scale = np.asarray(scale, dtype=np.float32)
    w, h = scale[..., 0], scale[..., 1]
    wide = w > h * aspect_ratio
    return np.stack([np.where(wide, w, h * aspect_ratio), np.where(wide, w / aspect_ratio, h)], axis=-1)


def _rotate(pt: np.ndarray, rad: float) -> np.ndarray:
    s, c = np.sin(rad), np.cos(rad)
    return np.array([c * pt[0] - s * pt[1], s * pt[0] + c * pt[1]])


def _third_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return b + np.array([-d[1], d[0]])


def get_warp_matrix(center: np.ndarray, scale: np.ndarray, rot: float, output_size: tuple[int, int],
                    shift: tuple[float, float] = (0.0, 0.0), inv: bool = False) -> np.ndarray:
    """2x3 affine matrix mapping the (rotated) box of `scale` around `center` onto `output_size` (w, h)."""
    import cv2
    center, scale = np.asarray(center, np.float64), np.asarray(scale, np.float64)
    shift = np.asarray(shift, np.float64)
    dst_w, dst_h = output_size
    src_dir = _rotate(np.array([scale[0] * -0.5, 0.0]), np.deg2rad(rot))
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0] = center + scale * shift
    src[1] = center + src_dir + scale * shift
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = dst[0] + np.array([dst_w * -0.5, 0.0])
    src[2] = _third_point(src[0], src[1])
    dst[2] = _third_point(dst[0], dst[1])
    return cv2.getAffineTransform(dst, src) if inv else cv2.getAffineTransform(src, dst)


def warp_crop(image: np.ndarray, center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int],
              rot: float = 0.0) -> np.ndarray:
    """Crop an HxWx3 image to the model input (w, h) with bilinear interpolation, zero border."""
    import cv2
    mat = get_warp_matrix(center, scale, rot, input_size)
    return cv2.warpAffine(image, mat, (int(input_size[0]), int(input_size[1])), flags=cv2.INTER_LINEAR)


def normalize(crops_bgr: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) or (H, W, 3) uint8 BGR -> float32 (N, 3, H, W) RGB normalised as PoseDataPreprocessor."""
    x = np.asarray(crops_bgr)
    if x.ndim == 3:
        x = x[None]
    x = x[..., ::-1].astype(np.float32)
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def normalize_into(crop_bgr: np.ndarray, out: np.ndarray) -> np.ndarray:
    """One (H, W, 3) uint8 BGR crop -> `out` (3, H, W) float32 RGB, the same values as `normalize` with
    BGR -> RGB and (x - mean) / std folded into one multiply-add per channel and no temporaries (the
    per-frame hot path of a fixed-box crop)."""
    mul = 1.0 / np.array(STD, np.float32)
    add = -np.array(MEAN, np.float32) / np.array(STD, np.float32)
    for c in range(3):   # crop channel c (BGR) -> input channel 2 - c (RGB)
        np.multiply(crop_bgr[..., c], mul[2 - c], out=out[2 - c], casting='unsafe')
        out[2 - c] += add[2 - c]
    return out


class BoxCrop:
    """The crop of one fixed box per frame: centre/scale and the warp matrix are computed once (as a
    tracker-driven pipeline keeps a box), each call is one warpAffine into a reused buffer plus the fused
    normalise, and `to_image` maps crop keypoints back to the image."""

    def __init__(self, bbox: np.ndarray, input_size: tuple[int, int]):
        self.input_size = (int(input_size[0]), int(input_size[1]))   # (w, h)
        w, h = self.input_size
        center, scale = bbox_xyxy_to_center_scale(np.asarray(bbox, np.float32).reshape(-1, 4)[:1])
        self.center, self.scale = center, fix_aspect_ratio(scale, w / h)
        self.matrix = get_warp_matrix(self.center[0], self.scale[0], 0.0, self.input_size)
        self.crop = np.empty((h, w, 3), np.uint8)
        self.batch = np.empty((1, 3, h, w), np.float32)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """(1, 3, h, w) normalised input of the box in `image` (a buffer reused by the next call)."""
        import cv2
        cv2.warpAffine(image, self.matrix, self.input_size, dst=self.crop, flags=cv2.INTER_LINEAR)
        normalize_into(self.crop, self.batch[0])
        return self.batch

    def to_image(self, keypoints: np.ndarray) -> np.ndarray:
        return crop_to_image(keypoints, self.center, self.scale, self.input_size)


def crop_to_image(keypoints: np.ndarray, center: np.ndarray, scale: np.ndarray,
                  input_size: tuple[int, int]) -> np.ndarray:
    """Keypoints in crop pixels (N, K, 2) -> image pixels, with the aspect-fixed `scale` (N, 2)."""
    center = np.asarray(center, np.float32)[:, None, :]
    scale = np.asarray(scale, np.float32)[:, None, :]
    return keypoints / np.asarray(input_size, np.float32) * scale + center - 0.5 * scale


def flip_simcc(simcc_x, simcc_y, flip_indices):
    """Undo a horizontal input flip on SimCC outputs (N, K, bins): swap left/right, reverse x bins.

    Works on numpy arrays and torch tensors alike.
    """
    simcc_x = simcc_x[:, flip_indices]
    simcc_x = simcc_x[..., ::-1] if isinstance(simcc_x, np.ndarray) else simcc_x.flip(-1)
    return simcc_x, simcc_y[:, flip_indices]
