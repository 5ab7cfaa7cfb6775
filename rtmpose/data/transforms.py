"""Training augmentations of RTMPose, with the semantics of mmpose 1.3.2 / mmdet 3.3.0.

Order and parameters follow configs/body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_aic-coco-256x192.py:
GetBBoxCenterScale -> RandomFlip -> RandomHalfBody -> RandomBBoxTransform -> TopdownAffine -> YOLOXHSVRandomAug
-> Albumentation(Blur, MedianBlur, CoarseDropout) -> GenerateTarget. Each function mirrors one official
transform (mmpose/datasets/transforms/common_transforms.py, topdown_transforms.py) for a single instance and
draws its randomness from an explicit numpy Generator instead of the global state, in the same order.
All geometry goes through rtmpose.topdown.
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import numpy as np

from rtmpose import topdown


def pin_opencv_threads() -> None:
    """Turn OpenCV's own thread pool off in this process, as mmengine's runner does (`cv2.setNumThreads(0)`
    in mmengine/utils/dl_utils/setup_env.py): with OpenCV's default threads, warpAffine crops differ in a few
    pixels from run to run on a 2-core machine, so training and evaluation would not repeat exactly. The
    data sets call it when built and when unpickled in a DataLoader worker."""
    import cv2
    cv2.setNumThreads(0)


@dataclass
class AugmentConfig:
    """Stage-1 values, and the stage-2 overrides used from epoch `stage2_epoch` (0-based) on.

    mmdet PipelineSwitchHook switches at switch_epoch = max_epochs - stage2_num_epochs (420 - 30 = 390).
    """
    flip_prob: float = 0.5
    half_body_prob: float = 0.3
    half_body_min_total_keypoints: int = 9
    half_body_min_upper_keypoints: int = 2
    half_body_min_lower_keypoints: int = 3
    half_body_padding: float = 1.5
    half_body_upper_prioritized_prob: float = 0.7
    shift_factor: float = 0.16
    shift_prob: float = 0.3
    scale_factor: tuple[float, float] = (0.6, 1.4)
    scale_prob: float = 1.0
    rotate_factor: float = 80.0
    rotate_prob: float = 0.6
    hue_delta: int = 5
    saturation_delta: int = 30
    value_delta: int = 30
    blur_prob: float = 0.1
    median_blur_prob: float = 0.1
    dropout_prob: float = 1.0
    dropout_size: tuple[float, float] = (0.2, 0.4)
    stage2_epoch: int = 390
    stage2_shift_factor: float = 0.0
    stage2_scale_factor: tuple[float, float] = (0.75, 1.25)
    stage2_rotate_factor: float = 60.0
    stage2_dropout_prob: float = 0.5

    def __post_init__(self):
        self.scale_factor = tuple(self.scale_factor)
        self.stage2_scale_factor = tuple(self.stage2_scale_factor)
        self.dropout_size = tuple(self.dropout_size)

    def validate(self, where: str) -> None:
        from rtmpose.settings import check_ranges
        check_ranges(self, where, probabilities=[f.name for f in dataclasses.fields(self)
                                                 if f.name.endswith('_prob')],
                     at_least={'stage2_epoch': 0, 'half_body_min_total_keypoints': 0,
                               'half_body_min_upper_keypoints': 0, 'half_body_min_lower_keypoints': 0})

    def for_epoch(self, epoch: int) -> 'AugmentConfig':
        """The effective settings at `epoch`: stage 2 replaces shift, scale, rotate and dropout p."""
        if epoch < self.stage2_epoch:
            return self
        return dataclasses.replace(self, shift_factor=self.stage2_shift_factor,
                                   scale_factor=self.stage2_scale_factor,
                                   rotate_factor=self.stage2_rotate_factor, dropout_prob=self.stage2_dropout_prob)


def random_flip(img: np.ndarray, center: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                flip_indices, rng: np.random.Generator, prob: float = 0.5):
    """RandomFlip(direction='horizontal'): image, bbox centre (w - x - 1), keypoints swapped by flip_indices."""
    import cv2
    # mmpose draws np.random.choice([dir, None], p=[prob, 1 - prob])
    if rng.random() >= prob:
        return img, center, keypoints, visible, False
    w = img.shape[1]
    img = cv2.flip(img, 1)
    center = center.copy()
    center[0] = w - center[0] - 1
    keypoints = keypoints[list(flip_indices)].copy()
    keypoints[:, 0] = w - 1 - keypoints[:, 0]
    return img, center, keypoints, visible[list(flip_indices)], True


def random_half_body(keypoints: np.ndarray, visible: np.ndarray, center: np.ndarray, scale: np.ndarray,
                     upper_ids, lower_ids, rng: np.random.Generator, cfg: AugmentConfig):
    """RandomHalfBody: with prob, replace the box by the upper or lower body's keypoints box (padding 1.5)."""
    if visible.sum() < cfg.half_body_min_total_keypoints:
        return center, scale
    if rng.random() > cfg.half_body_prob:
        return center, scale
    upper = [i for i in upper_ids if visible[i] > 0]
    lower = [i for i in lower_ids if visible[i] > 0]
    prefer_upper = rng.random() < cfg.half_body_upper_prioritized_prob
    if len(upper) < cfg.half_body_min_upper_keypoints and len(lower) < cfg.half_body_min_lower_keypoints:
        return center, scale
    if len(lower) < cfg.half_body_min_lower_keypoints:
        ids = upper
    elif len(upper) < cfg.half_body_min_upper_keypoints:
        ids = lower
    else:
        ids = upper if prefer_upper else lower
    sel = keypoints[ids]
    center = sel.mean(axis=0).astype(np.float32)
    scale = ((sel.max(axis=0) - sel.min(axis=0)) * cfg.half_body_padding).astype(np.float32)
    return center, scale


def truncnorm(rng: np.random.Generator, size) -> np.ndarray:
    """Standard normal truncated to [-1, 1] (scipy.stats.truncnorm.rvs, as mmpose samples it)."""
    from scipy.stats import truncnorm as _truncnorm
    return _truncnorm.rvs(-1.0, 1.0, size=size, random_state=rng).astype(np.float32)


def random_bbox_transform(center: np.ndarray, scale: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig):
    """RandomBBoxTransform: truncated-normal shift (x scale), resize and rotation (degrees)."""
    v = truncnorm(rng, (4,))
    offset = v[:2] * cfg.shift_factor
    if not rng.random() < cfg.shift_prob:
        offset = np.zeros(2, np.float32)
    lo, hi = cfg.scale_factor
    factor = v[2] * (hi - lo) * 0.5 + (hi + lo) * 0.5
    if not rng.random() < cfg.scale_prob:
        factor = 1.0
    rot = float(v[3] * cfg.rotate_factor)
    if not rng.random() < cfg.rotate_prob:
        rot = 0.0
    return (center + offset * scale).astype(np.float32), (scale * factor).astype(np.float32), rot


def topdown_affine(img: np.ndarray, keypoints: np.ndarray | None, center: np.ndarray, scale: np.ndarray,
                   rot: float, input_size: tuple[int, int]):
    """TopdownAffine (use_udp=False): fix the aspect ratio, warp the crop, move keypoints into it.

    Returns (crop, keypoints in crop pixels, the aspect-fixed scale).
    """
    w, h = input_size
    scale = topdown.fix_aspect_ratio(scale, w / h)
    crop = topdown.warp_crop(img, center, scale, input_size, rot)
    if keypoints is None:
        return crop, None, scale
    mat = topdown.get_warp_matrix(center, scale, rot, input_size)
    moved = keypoints @ mat[:, :2].T + mat[:, 2]
    return crop, moved.astype(np.float32), scale


def yolox_hsv(img: np.ndarray, rng: np.random.Generator, hue_delta: int = 5, saturation_delta: int = 30,
              value_delta: int = 30) -> np.ndarray:
    """YOLOXHSVRandomAug: random gains on H, S, V, each channel switched on with probability 1/2."""
    import cv2
    gains = rng.uniform(-1, 1, 3) * [hue_delta, saturation_delta, value_delta]
    gains *= rng.integers(0, 2, 3)
    gains = gains.astype(np.int16)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
    return cv2.cvtColor(hsv.astype(img.dtype), cv2.COLOR_HSV2BGR)


class PixelAugment:
    """The Albumentation step: Blur(p), MedianBlur(p), CoarseDropout(1 hole of 0.2..0.4 of each side, fill 0).

    albumentations 1.4.24 (the last line with the module layout mmpose imports, and numpy-2 ready): the
    official arguments max_holes=1, min/max_height=0.2/0.4, min/max_width=0.2/0.4 are deprecated there but
    still mean "hole side = int(side * U(0.2, 0.4))", the official effect. The new-style float
    hole_height_range=(0.2, 0.4) is rejected by 1.4.24's own validator (it requires values >= 1), and 2.x
    removed the old names; so the old names are used here with their deprecation warning silenced.
    """

    def __init__(self, cfg: AugmentConfig):
        import os
        os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')
        import albumentations as A
        import warnings
        lo, hi = cfg.dropout_size
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            dropout = A.CoarseDropout(max_holes=1, max_height=hi, max_width=hi, min_holes=1, min_height=lo,
                                      min_width=lo, fill=0, p=cfg.dropout_prob)
        self.compose = A.Compose([A.Blur(p=cfg.blur_prob), A.MedianBlur(p=cfg.median_blur_prob), dropout])

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        seed = int(rng.integers(0, 2 ** 63))
        self.compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
        return self.compose(image=img)['image']
