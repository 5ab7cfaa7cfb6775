"""Drawing people (box, identity, COCO skeleton) on a BGR frame."""
from __future__ import annotations

import numpy as np

from rtmpose.inference.synthetic import SKELETON


def _colour(i: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(int(i) + 7)
    return tuple(int(c) for c in rng.integers(64, 256, 3))


def draw_people(image: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                ids: np.ndarray | None = None, kpt_thr: float = 0.3) -> np.ndarray:
    import cv2
    out = image.copy()
    for n, box in enumerate(np.asarray(boxes).reshape(-1, 4)):
        col = _colour(ids[n] if ids is not None else n)
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), col, 1)
        if ids is not None:
            cv2.putText(out, str(int(ids[n])), (x1, max(10, y1 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, col, 1)
        k, s = keypoints[n], scores[n]
        if len(k) == 17:
            for a, b in SKELETON:
                if s[a] > kpt_thr and s[b] > kpt_thr:
                    cv2.line(out, tuple(np.round(k[a]).astype(int)), tuple(np.round(k[b]).astype(int)), col, 2)
        for (x, y), sc in zip(k, s):
            if sc > kpt_thr:
                cv2.circle(out, (int(round(x)), int(round(y))), 3, (0, 0, 255), -1)
    return out
