"""A synthetic video with known ground truth, and a keypoint model that can only see its crop.

Used to measure tracking and skip-frame drift without trained weights. Each figure is a COCO-17
skeleton walking across a textured background, its 17 keypoints painted as dots of distinct colours.
`ColourKeypointRunner` stands in for the pose network (same input and SimCC outputs): it finds each
keypoint's colour in the normalised crop it is given, so keypoints outside the crop are lost exactly as
a real top-down model loses them, and everything else (crop, decode, map back, tracking) is the real
pipeline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtmpose.models.rtmpose import MEAN, STD

# a standing person, (x, y) relative to the hip centre in units of body height; COCO-17 order
_TEMPLATE = np.array([
    [0.0, -0.86], [-0.03, -0.89], [0.03, -0.89], [-0.06, -0.87], [0.06, -0.87],     # face
    [-0.13, -0.72], [0.13, -0.72], [-0.17, -0.45], [0.17, -0.45], [-0.19, -0.2], [0.19, -0.2],  # arms
    [-0.09, 0.0], [0.09, 0.0], [-0.1, 0.27], [0.1, 0.27], [-0.1, 0.52], [0.1, 0.52]], np.float64)
SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
            (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))


def keypoint_colours(k: int = 17) -> np.ndarray:
    """Distinct saturated BGR colours, far from the grey background and limbs."""
    import cv2
    hsv = np.stack([np.linspace(0, 179, k, endpoint=False), np.full(k, 255), np.where(np.arange(k) % 2, 255, 170)],
                   -1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0].astype(np.float32)


@dataclass
class SyntheticVideo:
    frames: list[np.ndarray]        # BGR uint8
    keypoints: np.ndarray           # (T, P, 17, 2)
    boxes: np.ndarray               # (T, P, 4) tight keypoint boxes grown 1.1 (a detector's box)


def make_video(n_frames: int = 60, n_people: int = 6, size: tuple[int, int] = (960, 360), seed: int = 0,
               speed: float = 4.0) -> SyntheticVideo:
    """`n_people` figures walking with swinging limbs; `speed` in pixels per frame."""
    import cv2
    rng = np.random.default_rng(seed)
    w, h = size
    heights = rng.uniform(0.3, 0.45, n_people) * h
    start = np.stack([(np.arange(n_people) + 0.5) / n_people * w, rng.uniform(0.55, 0.62, n_people) * h], -1)
    vel = rng.uniform(0.5, 1.0, (n_people, 2)) * speed * rng.choice([-1, 1], (n_people, 2)) * [1, 0.3]
    phase = rng.uniform(0, 2 * np.pi, n_people)
    bg = cv2.GaussianBlur(rng.integers(70, 150, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    colours = keypoint_colours()
    frames, all_kpts, all_boxes = [], [], []
    for t in range(n_frames):
        img = bg.copy()
        kpts = np.zeros((n_people, 17, 2))
        for p in range(n_people):
            centre = start[p] + vel[p] * t
            lo, span = 0.05 * w, 0.9 * w                                   # bounce off the frame sides
            centre[0] = lo + span - abs((centre[0] - lo) % (2 * span) - span)
            swing = 0.12 * np.sin(0.25 * t + phase[p])
            tpl = _TEMPLATE.copy()
            tpl[[7, 9], 0] += swing * np.array([1.0, 1.8])
            tpl[[8, 10], 0] -= swing * np.array([1.0, 1.8])
            tpl[[13, 15], 0] -= swing * np.array([1.0, 1.6])
            tpl[[14, 16], 0] += swing * np.array([1.0, 1.6])
            kpts[p] = centre + tpl * heights[p]
        order = np.argsort(heights)            # larger (nearer) figures drawn last
        for p in order:
            for a, b in SKELETON:
                cv2.line(img, tuple(np.round(kpts[p, a]).astype(int)), tuple(np.round(kpts[p, b]).astype(int)),
                         (200, 200, 200), max(2, int(heights[p] / 40)), cv2.LINE_AA)
            for k in range(17):
                cv2.circle(img, tuple(np.round(kpts[p, k]).astype(int)), max(3, int(heights[p] / 45)),
                           tuple(int(c) for c in colours[k]), -1, cv2.LINE_AA)
        lo, hi = kpts.min(1), kpts.max(1)
        c, half = (lo + hi) / 2, (hi - lo) / 2 * 1.1
        frames.append(img)
        all_kpts.append(kpts)
        all_boxes.append(np.concatenate([c - half, c + half], -1))
    return SyntheticVideo(frames, np.asarray(all_kpts, np.float32), np.asarray(all_boxes, np.float32))


class ColourKeypointRunner:
    """Pose-network stand-in for the synthetic video: normalised RGB crops (N, 3, h, w) -> SimCC
    (simcc_x (N, 17, 2w), simcc_y (N, 17, 2h)). A keypoint is the centroid of the blob of its colour
    (pixels within `tol`) nearest the crop centre, as a top-down model attends to the centred person;
    missing colours give all-zero vectors (score 0)."""

    def __init__(self, tol: float = 40.0, split_ratio: float = 2.0, sigma: float = 2.0):
        self.colours = keypoint_colours()[:, ::-1]   # RGB, as the crops are
        self.tol, self.ratio, self.sigma = tol, split_ratio, sigma

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        import cv2
        n, _, h, w = x.shape
        rgb = x.transpose(0, 2, 3, 1) * np.array(STD, np.float32) + np.array(MEAN, np.float32)
        bx, by = np.arange(int(w * self.ratio)), np.arange(int(h * self.ratio))
        sx = np.zeros((n, len(self.colours), len(bx)), np.float32)
        sy = np.zeros((n, len(self.colours), len(by)), np.float32)
        for i in range(n):
            d = np.linalg.norm(rgb[i][:, :, None, :] - self.colours[None, None], axis=-1)   # (h, w, K)
            for k in range(len(self.colours)):
                mask = (d[:, :, k] < self.tol).astype(np.uint8)
                n_lab, labels, _, cents = cv2.connectedComponentsWithStats(mask)
                if n_lab < 2:
                    continue
                best = 1 + int(np.argmin(np.linalg.norm(cents[1:] - [w / 2, h / 2], axis=1)))
                ys, xs = np.nonzero(labels == best)
                mx, my = xs.mean() * self.ratio, ys.mean() * self.ratio
                sx[i, k] = np.exp(-(bx - mx) ** 2 / (2 * self.sigma ** 2))
                sy[i, k] = np.exp(-(by - my) ** 2 / (2 * self.sigma ** 2))
        return [sx, sy]
